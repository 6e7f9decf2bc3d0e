"""bench/install.py: pip alone and uv with pip's sources install the same packages, each timed."""

from bench_modules import load_bench

install = load_bench("install")


def test_both_ways_install_the_same_packages(tmp_path, capsys):
    package = tmp_path / "tinypkg"
    (package / "tinypkg").mkdir(parents=True)
    (package / "tinypkg" / "__init__.py").write_text("")
    (package / "pyproject.toml").write_text('[project]\nname = "tinypkg"\nversion = "0.1"\ndependencies = ["six"]\n'
                                            '[build-system]\nrequires = ["setuptools"]\nbuild-backend = "setuptools.build_meta"\n')
    assert install.main(["--target", str(package)]) == 0
    out = capsys.readouterr().out
    assert "uv / pip:" in out and "the same in both" in out
