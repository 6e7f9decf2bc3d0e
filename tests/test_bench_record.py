"""bench/record.py keeps a command's output with its provenance in the results ledger."""

import sys

from bench_modules import load_bench

record = load_bench("record")


def test_a_run_is_kept_with_its_command_commit_machine_load_and_output(tmp_path, monkeypatch):
    monkeypatch.setattr(record, "RESULTS", tmp_path)
    code = record.main(["demo", "--", sys.executable, "-c", "print('win rate 61.5% [50.2%, 71.7%]')"])
    [kept] = tmp_path.glob("demo-*.md")
    text = kept.read_text()
    assert code == 0 and "win rate 61.5% [50.2%, 71.7%]" in text
    assert f"- commit: `{record.git('rev-parse', '--short', 'HEAD')}" in text
    for field in ("- command: `", "- machine: `", "- load average before: `", "- wall: `", "- exit code: `0`"):
        assert field in text
    record.main(["demo", "--", sys.executable, "-c", "print(2)"])
    assert len(list(tmp_path.glob("demo-*.md"))) == 2  # a second run that day gets its own file


def test_a_failing_command_is_kept_and_its_exit_code_returned(tmp_path, monkeypatch):
    monkeypatch.setattr(record, "RESULTS", tmp_path)
    assert record.main(["broken", "--", sys.executable, "-c", "import sys; print('half'); sys.exit(3)"]) == 3
    [kept] = tmp_path.glob("broken-*.md")
    assert "- exit code: `3`" in kept.read_text() and "half" in kept.read_text()


def test_the_machine_line_names_the_cpus_vector_extensions(tmp_path, monkeypatch):
    cpuinfo = tmp_path / "cpuinfo"
    cpuinfo.write_text("model name\t: AMD EPYC\nflags\t\t: fpu sse2 avx2 avx512f avx512_bf16\n")
    real_path = record.Path
    monkeypatch.setattr(record, "Path", lambda p: real_path(cpuinfo) if p == "/proc/cpuinfo" else real_path(p))
    assert "(AMD EPYC; avx2, avx512f, avx512_bf16)" in record.machine()
    cpuinfo.write_text("model name\t: AMD EPYC\nflags\t\t: fpu sse2 avx2\n")
    assert "(AMD EPYC; avx2)" in record.machine()  # what the same model name reported on an AVX2-only host
