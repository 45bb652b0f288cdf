"""The Python blocks of a Markdown file, as the scripts a reader would run.

Each ```python block is one script, except that a block whose first line is the comment
``# continues the block above`` runs after the block before it, in the same script.
"""
import os
import pathlib
import re
import subprocess
import sys

REPOSITORY = pathlib.Path(__file__).resolve().parent.parent
CONTINUES = "# continues the block above"


def scripts(path):
    """[(title, source)]: one per script, titled by the heading above its first block."""
    text = pathlib.Path(path).read_text(encoding="utf-8")
    found = []
    for match in re.finditer(r"^```python\n(.*?)^```", text, re.S | re.M):
        block = match.group(1)
        headings = re.findall(r"^#+ (.*)$", text[:match.start()], re.M)
        title = headings[-1] if headings else pathlib.Path(path).name
        if block.startswith(CONTINUES):
            if not found:
                raise ValueError(f"{path}: the first Python block says it continues another")
            previous_title, previous = found[-1]
            found[-1] = (previous_title, previous + block)
        else:
            found.append((title, block))
    return found


def run(source, cwd, timeout=300):
    """Run ``source`` as a script in a fresh interpreter in ``cwd``, importing this tree's
    tinyseq; returns the CompletedProcess (stdout and stderr as text)."""
    env = dict(os.environ, PYTHONPATH=str(REPOSITORY), MPLBACKEND="Agg")
    script = pathlib.Path(cwd) / "block.py"
    script.write_text(source, encoding="utf-8")
    return subprocess.run([sys.executable, str(script)], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=timeout)


def failure(title, result):
    return (f"the block(s) under {title!r} exit with status {result.returncode}\n"
            f"--- stdout\n{result.stdout}\n--- stderr\n{result.stderr}")
