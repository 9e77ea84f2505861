"""`losslab lessons`: list the workshop lessons; `losslab lessons --check [ID...]` tests their claims.

The check trains each lesson's preset headless and prints one line per claim, ``held`` or
``FAILED`` with the measured numbers, then a summary; it exits 0 only when every claim holds
(1 when one failed, 2 for a bad lesson file or an unknown id).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any

EXIT_CLAIM_FAILED = 1


def add_parser(sub: Any) -> None:
    lessons = sub.add_parser(
        "lessons",
        help="list the workshop lessons, or --check that what each one claims happens",
        description="List the bundled lessons (or those in --folder). With --check, train each "
        "lesson's preset without a window and test every claim it makes; exit 0 only if all hold.",
    )
    lessons.add_argument("ids", nargs="*", metavar="ID", help="lesson ids or numbers (default: all)")
    lessons.add_argument("--check", action="store_true", help="run each preset and check its claims")
    lessons.add_argument("--folder", help="a folder of .lesson files instead of the bundled ones")


def cmd_lessons(args: argparse.Namespace) -> int:
    from losslab.core.errors import LossLabError
    from losslab.core.lessons import find_lessons, load_lessons

    folder = Path(args.folder) if args.folder else None
    if folder is not None and not folder.is_dir():
        raise LossLabError(f"{folder} is not a folder", "--folder")
    lessons = load_lessons(folder)
    if not lessons:
        raise LossLabError(f"no .lesson files in {folder}", "--folder")
    chosen = find_lessons(lessons, args.ids) if args.ids else lessons
    if not args.check:
        width = max(len(x.id) for x in chosen)
        for lesson in chosen:
            race = f"  [race: {lesson.race[0]}]" if lesson.race else ""
            print(f"{lesson.id.ljust(width)}  {lesson.title}{race}  ({len(lesson.claims)} claims)")
        return 0
    return _check(chosen)


def _check(lessons: list[Any]) -> int:
    import torch

    from losslab.core.lessons import check_lesson

    torch.set_num_threads(1)  # small nets are dispatch-bound, as in `losslab run`
    started = time.perf_counter()
    failed, claims = [], 0
    for lesson in lessons:
        report = check_lesson(lesson)
        print(f"{lesson.id}: {lesson.title} ({report.seconds:.1f} s)")
        for r in report.results:
            claims += 1
            print(f"  {'held' if r.held else 'FAILED'}: {r.says} -- {r.detail}")
        if not report.held:
            failed.append(lesson.id)
        sys.stdout.flush()
    spent = time.perf_counter() - started
    if failed:
        names = ", ".join(failed)
        print(f"{len(failed)} of {len(lessons)} lessons have a claim that failed: {names} ({spent:.1f} s)")
        return EXIT_CLAIM_FAILED
    print(f"all {claims} claims of {len(lessons)} lessons held ({spent:.1f} s)")
    return 0
