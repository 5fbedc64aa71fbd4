"""Every script in examples/ runs (a smoke test), so none rots."""
import pathlib
import runpy

import pytest

EXAMPLES = sorted((pathlib.Path(__file__).parent.parent / 'examples').glob('*.py'))


@pytest.mark.parametrize('path', EXAMPLES, ids=[p.name for p in EXAMPLES])
def test_example_runs(path, capsys):
    runpy.run_path(str(path), run_name='__main__')
    assert capsys.readouterr().out.strip(), f"{path.name} printed nothing"


def test_tour_prints_the_jaxpr_and_correct_derivatives(capsys):
    runpy.run_path(str(EXAMPLES[0].parent / 'tour.py'), run_name='__main__')
    out = capsys.readouterr().out
    assert ("{ lambda ; a:f64[] b:f64[]. let\n"
            "    c:f64[] = sin a\n"
            "    d:f64[] = mul c b\n"
            "    e:f64[] = add d 2.0:f64[]\n"
            "  in (e,) }") in out
    assert "(df/dx, df/dy) = (1.080605, 0.841471)" in out      # 2 cos 1, sin 1
    assert "[[8.0, 6.0], [6.0, 0.0]]" in out                    # Hessian of x^2 y + y + 2 at (3, 4)
