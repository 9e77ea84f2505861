"""A small LaTeX-ish formula language turned into Qt rich text (HTML with Unicode math), offline.

Lessons write formulas as ``\\frac{1}{N} \\sum_i (\\hat{y}_i - y_i)^2``. A projector in a classroom
has no network and no TeX, so this renders the common subset by hand: Greek letters and operators
become Unicode, ``_x`` / ``^{...}`` become ``<sub>`` / ``<sup>``, ``\\frac{a}{b}`` becomes
``a ⁄ b`` with parentheses where the parts are compound, single Latin letters are set in italics.
Anything unknown is shown as typed (never dropped), so a typo stays visible instead of vanishing.
"""

from __future__ import annotations

import html

SYMBOLS: dict[str, str] = {
    "alpha": "α",
    "beta": "β",
    "gamma": "γ",
    "delta": "δ",
    "Delta": "Δ",
    "epsilon": "ε",
    "eta": "η",
    "theta": "θ",
    "lambda": "λ",
    "mu": "μ",
    "pi": "π",
    "rho": "ρ",
    "sigma": "σ",
    "Sigma": "Σ",
    "tau": "τ",
    "phi": "φ",
    "omega": "ω",
    "sum": "∑",
    "prod": "∏",
    "cdot": "·",
    "times": "×",
    "le": "≤",
    "leq": "≤",
    "ge": "≥",
    "geq": "≥",
    "ne": "≠",
    "neq": "≠",
    "approx": "≈",
    "infty": "∞",
    "partial": "∂",
    "nabla": "∇",
    "in": "∈",
    "to": "→",
    "rightarrow": "→",
    "leftarrow": "←",
    "pm": "±",
    "cap": "∩",
    "cup": "∪",
    "lVert": "‖",
    "rVert": "‖",
    "|": "‖",
    "quad": "\u2003",
    ",": "\u2009",
    " ": " ",
    "{": "{",
    "}": "}",
}
FUNCTIONS = frozenset({"log", "ln", "exp", "max", "min", "sin", "cos", "tanh", "sign", "softmax", "E"})
ACCENTS: dict[str, str] = {"hat": "\u0302", "bar": "\u0304", "tilde": "\u0303", "dot": "\u0307"}
TEXT_COMMANDS = frozenset({"text", "mathrm", "operatorname"})
DROPPED = frozenset({"left", "right", "big", "Big", "displaystyle"})  # sizing only: parentheses stay
MAX_FORMULA = 2000


class _Reader:
    def __init__(self, text: str) -> None:
        self.text, self.pos = text, 0

    def done(self) -> bool:
        return self.pos >= len(self.text)

    def group(self) -> str:
        """The next argument: ``{...}`` (nested) or one character / one ``\\command``."""
        while not self.done() and self.text[self.pos] == " ":
            self.pos += 1
        if self.done():
            return ""
        ch = self.text[self.pos]
        if ch == "{":
            depth, start = 0, self.pos
            while not self.done():
                c = self.text[self.pos]
                depth += c == "{"
                depth -= c == "}"
                self.pos += 1
                if depth == 0:
                    return self.text[start + 1 : self.pos - 1]
            return self.text[start + 1 :]  # unbalanced: take the rest rather than fail
        if ch == "\\":
            start = self.pos
            self.pos += 1
            while not self.done() and self.text[self.pos].isalpha():
                self.pos += 1
            if self.pos == start + 1 and not self.done():
                self.pos += 1
            return self.text[start : self.pos]
        self.pos += 1
        return ch


def _compound(part: str) -> bool:
    return any(c in part for c in " +-−") and not (part.startswith("(") and part.endswith(")"))


def to_html(formula: str) -> str:
    """Rich text for a QLabel: ``\\frac{1}{N}\\sum_i e_i^2`` -> ``1⁄<i>N</i> ∑<sub><i>i</i></sub> ...``."""
    return _render(formula[:MAX_FORMULA], 0)


def _render(text: str, depth: int) -> str:
    if depth > 20:  # nesting this deep is a mistake; show it as typed
        return html.escape(text)
    r = _Reader(text)
    out: list[str] = []
    while not r.done():
        ch = text[r.pos]
        if ch == "\\":
            out.append(_command(r, depth))
        elif ch in "_^":
            r.pos += 1
            tag = "sub" if ch == "_" else "sup"
            out.append(f"<{tag}>{_render(r.group(), depth + 1)}</{tag}>")
        elif ch in "{}":
            r.pos += 1  # bare grouping braces only group
        elif ch.isalpha():
            start = r.pos
            while not r.done() and text[r.pos].isalpha():
                r.pos += 1
            word = text[start : r.pos]
            out.append(html.escape(word) if len(word) > 1 else f"<i>{html.escape(word)}</i>")
        elif ch == "-":
            r.pos += 1
            out.append("−")
        else:
            r.pos += 1
            out.append(html.escape(ch))
    return "".join(out)


def _command(r: _Reader, depth: int) -> str:
    name = r.group()[1:]
    if name == "frac":
        top, bottom = _render(r.group(), depth + 1), _render(r.group(), depth + 1)
        top = f"({top})" if _compound(top) else top
        bottom = f"({bottom})" if _compound(bottom) else bottom
        return f"{top}⁄{bottom}"
    if name == "sqrt":
        return f"√({_render(r.group(), depth + 1)})"
    if name in ACCENTS:
        arg = r.group()
        if len(arg) == 1 and arg.isalpha():
            return f"<i>{html.escape(arg)}{ACCENTS[name]}</i>"
        return f"{_render(arg, depth + 1)}{ACCENTS[name]}"
    if name in TEXT_COMMANDS:
        return html.escape(r.group())
    if name in DROPPED:
        return ""
    if name in SYMBOLS:
        return html.escape(SYMBOLS[name])
    if name in FUNCTIONS:
        return name
    return html.escape("\\" + name)  # unknown: visible as typed
