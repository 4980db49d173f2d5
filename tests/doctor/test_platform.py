"""qa.doctor.platform: filesystem detection from given /proc/mounts text, WSL detection, and a
real throughput / writability measurement."""

from qa.doctor.platform import inspect_dir, mount_for, parse_mounts, wsl_version

WSL2_MOUNTS = """\
/dev/sdc / ext4 rw,relatime,discard,errors=remount-ro,data=ordered 0 0
none /mnt/wsl tmpfs rw,relatime 0 0
C:\\134 /mnt/c 9p rw,noatime,dirsync,aname=drvfs;path=C:\\;uid=1000,gid=1000 0 0
D:\\134 /mnt/d drvfs rw,noatime 0 0
/dev/sdd /home/me/My\\040Music ext4 rw 0 0
"""


def test_9p_and_drvfs_detected_from_mounts_table():
    mounts = parse_mounts(WSL2_MOUNTS)
    assert mount_for("/mnt/c/Users/me/out", mounts).fstype == "9p"
    assert mount_for("/mnt/d/x.wav", mounts).fstype == "drvfs"
    assert mount_for("/mnt/cx/file", mounts).fstype == "ext4"  # a prefix of the name is not a mount
    assert mount_for("/home/me/My Music/a.wav", mounts).mountpoint == "/home/me/My Music"


def test_wsl_versions():
    assert wsl_version("Linux version 5.15.153.1-microsoft-standard-WSL2 (gcc)") == 2
    assert wsl_version("Linux version 4.4.0-19041-Microsoft (Microsoft@Microsoft.com)") == 1
    assert wsl_version("Linux version 6.1.0-18-amd64 (debian-kernel@lists.debian.org)") is None


def test_inspect_dir_reports_slow_filesystem_from_given_table(tmp_path):
    table = f"/dev/vda / ext4 rw 0 0\nC:\\134 {tmp_path} 9p rw 0 0\n"
    d = inspect_dir(str(tmp_path), table)
    assert (d.fstype, d.mountpoint, d.writable) == ("9p", str(tmp_path), True)
    assert d.mb_per_s > 0 and d.temp_mb_per_s > 0
    assert list(tmp_path.iterdir()) == []  # the throughput file is removed


def test_missing_directory(tmp_path):
    d = inspect_dir(str(tmp_path / "nope"), "/dev/vda / ext4 rw 0 0\n")
    assert (d.exists, d.writable, d.write_error) == (False, False, "does not exist")
