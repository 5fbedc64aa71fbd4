"""Every script in examples/ runs (a smoke test), so none rots."""
import pathlib
import runpy

import pytest

EXAMPLES = sorted((pathlib.Path(__file__).parent.parent / 'examples').glob('*.py'))


@pytest.mark.parametrize('path', EXAMPLES, ids=[p.name for p in EXAMPLES])
def test_example_runs(path, capsys):
    runpy.run_path(str(path), run_name='__main__')
    assert capsys.readouterr().out.strip(), f"{path.name} printed nothing"
