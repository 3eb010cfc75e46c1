"""The set-up scripts the README's commands run: the pages' Chinese font (scripts/fonts.sh) is
installed or named, and never stops the demo."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _fake(bin_dir: Path, name: str, body: str) -> None:
    path = bin_dir / name
    path.write_text(f"#!/bin/sh\n{body}\n", encoding="utf-8")
    path.chmod(0o755)


def _fonts(tmp_path: Path, fc_list: str, uid: str) -> subprocess.CompletedProcess[str]:
    """Run scripts/fonts.sh with ``fc-list`` and ``id`` answering as given (apt-get stubbed:
    its update succeeds, its install fails)."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    _fake(bin_dir, "fc-list", fc_list)
    _fake(bin_dir, "id", f"echo {uid}")
    _fake(bin_dir, "apt-get", f'echo "apt-get $*" >> {tmp_path / "apt.log"}; [ "$1" = update ]')
    env = {**os.environ, "PATH": f"{bin_dir}:{os.environ['PATH']}"}
    return subprocess.run(
        ["bash", str(ROOT / "scripts" / "fonts.sh")],
        env=env,
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )


def test_a_machine_with_a_chinese_font_is_left_alone(tmp_path: Path) -> None:
    done = _fonts(tmp_path, 'echo "Noto Sans CJK SC"', "0")
    assert done.returncode == 0
    assert done.stderr == ""
    assert not (tmp_path / "apt.log").exists()


def test_root_without_a_font_installs_noto_cjk_and_a_failure_only_warns(tmp_path: Path) -> None:
    done = _fonts(tmp_path, "true", "0")
    assert done.returncode == 0  # the stubbed apt-get failed: the demo still runs
    assert "fonts-noto-cjk" in (tmp_path / "apt.log").read_text(encoding="utf-8")
    assert "apt-get install fonts-noto-cjk" in done.stderr


def test_a_user_without_a_font_is_told_what_to_install(tmp_path: Path) -> None:
    done = _fonts(tmp_path, "true", "1000")
    assert done.returncode == 0
    assert not (tmp_path / "apt.log").exists()
    assert "apt-get install fonts-noto-cjk" in done.stderr


@pytest.mark.parametrize("script", ["demo.sh", "test.sh", "fonts.sh", "browser.sh"])
def test_the_scripts_parse(script: str) -> None:
    checked = subprocess.run(["bash", "-n", str(ROOT / "scripts" / script)], check=False)
    assert checked.returncode == 0


def test_the_readme_main_command_runs_the_demo_script() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert "bash scripts/demo.sh" in readme
    assert 'exec .venv/bin/credlink demo "$@"' in (ROOT / "scripts" / "demo.sh").read_text()
