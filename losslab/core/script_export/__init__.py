"""Taking an experiment elsewhere: a standalone PyTorch script (script.py, from template.py and
LossLab's own functions via sources.py) and the trained network as weights, TorchScript or ONNX
(models.py)."""

from losslab.core.script_export.script import script_text, write_script

__all__ = ["script_text", "write_script"]
