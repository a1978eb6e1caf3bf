import hashlib

from tasks.synthetic import CLASSES, DemoTask, generate


def digest(root):
    h = hashlib.sha256()
    for path in sorted(root.rglob("*")):
        if path.is_file():
            h.update(path.relative_to(root).as_posix().encode() + path.read_bytes())
    return h.hexdigest()


def test_demo_is_generated_deterministically_in_a_us8k_like_layout(tmp_path):
    task = DemoTask()
    clips = task.clips(tmp_path / "a")
    assert len(clips) == 500 and {c.target for c in clips} == set(CLASSES)
    assert (tmp_path / "a" / "metadata" / "demo.csv").is_file()
    assert all(c.path.parent.name == f"fold{c.group}" and c.path.is_file() for c in clips)
    assert [s.sizes() for s in task.splits(clips)] == [(300, 100, 100)] * 5
    generate(tmp_path / "b")
    assert digest(tmp_path / "a") == digest(tmp_path / "b")


def test_data_check_is_complete_only_with_the_official_split_sizes(tmp_path):
    task = DemoTask()
    report = task.check(tmp_path / "demo")
    assert report.ok and "status: complete" in report.format()
    (tmp_path / "demo" / "audio" / "fold2" / "3-vibrato-001.wav").unlink()
    report = task.check(tmp_path / "demo")
    assert not report.ok and report.missing == ["3-vibrato-001.wav"]
    report.missing.clear()  # all present, but a split smaller than the official one
    report.split_sizes["fold2"] = (300, 100, 99)
    assert not report.ok and report.wrong_splits == ["fold2"] and "INCOMPLETE" in report.format()
