"""./run's system packages for the browser and site tests (`./run tools`, first step of `./run test`), run for real
against stub commands: on a PATH holding only what the script needs, apt-get, sudo and id are small scripts
that write what they were asked to do, and "installing" a package puts its command on that PATH."""
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
EVERYTHING = ["chromium", "fonts-noto-cjk", "nodejs", "npm"]
#: the command each package brings (fonts: fc-list, which then lists a Korean font)
COMMAND = {"chromium": "chromium", "fonts-noto-cjk": "fc-list", "nodejs": "node", "npm": "npm"}


def stub(path, body):
    path.write_text("#!/bin/bash\n" + body + "\n")
    path.chmod(0o755)


@pytest.fixture
def machine(tmp_path):
    """run(installed=[...], uid=0, sudo=True, apt=True, apt_works=True, ci=False) -> (CompletedProcess, [logged])."""
    def run(installed=(), uid=0, sudo=True, apt=True, apt_works=True, ci=False):
        bin_dir = tmp_path / "bin"
        shutil.rmtree(bin_dir, ignore_errors=True)
        bin_dir.mkdir()
        for tool in ("bash", "dirname", "tr", "grep", "env", "cat"):
            (bin_dir / tool).symlink_to(shutil.which(tool))
        log = tmp_path / "log"
        log.write_text("")
        for package in installed:
            stub(bin_dir / COMMAND[package], "echo 'Noto Sans CJK KR'")
        installs = "\n".join(f"    {p}) printf '%s\\n' '#!/bin/bash' \"echo 'Noto Sans CJK KR'\" > {bin_dir / c}"
                             f" && /bin/chmod +x {bin_dir / c} ;;" for p, c in COMMAND.items())
        if apt:
            install = 'if [ "$1" = install ]; then for p in "$@"; do case $p in\n' + installs + "\n  esac; done; fi"
            stub(bin_dir / "apt-get", f'echo "apt-get $* ($DEBIAN_FRONTEND)" >> {log}\n' + (install if apt_works else ""))
        stub(bin_dir / "id", f"echo {uid}")
        if sudo:
            stub(bin_dir / "sudo", f'echo sudo >> {log}\nexec "$@"')
        env = {"PATH": str(bin_dir), "HOME": str(tmp_path), **({"CI": "true"} if ci else {})}
        done = subprocess.run(["/bin/bash", str(ROOT / "run"), "tools"], env=env, capture_output=True, text=True,
                              timeout=60)
        return done, log.read_text().splitlines()
    return run


def test_installs_what_is_missing_with_one_update_through_sudo(machine):
    done, log = machine(uid=1000)
    assert done.returncode == 0, done.stderr
    assert "시스템 패키지 설치 (apt-get, sudo): chromium fonts-noto-cjk nodejs npm" in done.stderr
    assert log == ["sudo", "apt-get update -q (noninteractive)",
                   "sudo", "apt-get install -y -q chromium fonts-noto-cjk nodejs npm (noninteractive)"]


def test_as_root_installs_only_the_missing_package_without_sudo(machine):
    done, log = machine(installed=["chromium", "fonts-noto-cjk", "npm"], uid=0)
    assert done.returncode == 0, done.stderr
    assert "(apt-get): nodejs" in done.stderr
    assert log == ["apt-get update -q (noninteractive)", "apt-get install -y -q nodejs (noninteractive)"]


def test_nothing_happens_when_everything_is_there(machine):
    done, log = machine(installed=EVERYTHING, uid=1000)
    assert (done.returncode, done.stdout, done.stderr, log) == (0, "", "", [])


def test_not_root_and_no_sudo_stops_with_a_korean_message(machine):
    done, log = machine(installed=["nodejs", "npm"], uid=1000, sudo=False)
    assert done.returncode != 0
    assert "root가 아니고 sudo도 없습니다" in done.stderr and "apt-get install -y chromium fonts-noto-cjk" in done.stderr
    assert log == []


def test_a_package_apt_get_did_not_bring_is_an_error(machine):
    done, log = machine(installed=["nodejs", "npm", "fonts-noto-cjk"], apt_works=False)
    assert done.returncode != 0
    assert "설치 뒤에도 없는 것: chromium" in done.stderr
    assert log == ["apt-get update -q (noninteractive)", "apt-get install -y -q chromium (noninteractive)"]


def test_run_test_installs_them_before_the_tests():
    script = (ROOT / "run").read_text(encoding="utf-8")
    branch = script[script.index("\n  test)"):]
    assert branch.index("setup_test_tools") < branch.index('"$PY" -m pytest')


def test_study_as_root_allows_root():
    script = (ROOT / "run").read_text(encoding="utf-8")
    branch = script[script.index("\n  study)"):]
    branch = branch[:branch.index(";;")]
    assert 'if [ "$(id -u)" = 0 ]' in branch and "--allow-root" in branch
    assert branch.index("--allow-root") < branch.index("exec ")


def test_without_apt_get_missing_tools_are_named_and_fail_under_ci(machine):
    done, log = machine(installed=["nodejs", "npm", "fonts-noto-cjk"], apt=False)
    assert done.returncode == 0 and "테스트에 필요한 도구가 없습니다: chromium" in done.stderr
    done, log = machine(installed=["nodejs", "npm", "fonts-noto-cjk"], apt=False, ci=True)
    assert done.returncode != 0 and "테스트에 필요한 도구가 없습니다: chromium" in done.stderr
