"""Run some cells of a notebook, in order, in one fresh kernel, and keep their outputs (scrubbed as `keep_outputs.py`
scrubs them); the other cells keep the outputs they have. For a lesson whose long cells (training) should not re-run
when a cell near them is added or changed. Usage, from the root:

    .venv/bin/python tools/run_cells.py nbs/tutorials/07_metrics_explained.ipynb --cells 0-5 12 14-16 [--max-width 700]

Cells are numbered from 0 over all the notebook's cells (markdown included; those are skipped). `--list` prints
each cell's number and first line. The kernel runs in the notebook's folder, as `nbdev-test` runs it.
"""
import argparse, json, sys
from pathlib import Path
import nbformat
from nbclient import NotebookClient
sys.path.insert(0, str(Path(__file__).resolve().parent))
from keep_outputs import _keep

def cell_numbers(specs:list)->list:
    "'3', '5-8' -> [3, 5, 6, 7, 8]"
    out = []
    for s in specs:
        a,_,b = s.partition('-')
        out += list(range(int(a), int(b or a) + 1))
    return out

def run_cells(nb_path:Path, cells:list, max_width:int=700, timeout:int=7200):
    "Execute `cells` of `nb_path` in order in one kernel; write their (scrubbed) outputs back"
    nb = nbformat.read(nb_path, as_version=4)
    todo = [i for i in cells if nb.cells[i].cell_type == 'code']
    client = NotebookClient(nb, timeout=timeout, kernel_name='python3', resources={'metadata': {'path': str(nb_path.parent)}})
    with client.setup_kernel():
        for i in todo:
            print(f"cell {i}: {nb.cells[i].source.splitlines()[0][:80] if nb.cells[i].source else ''}", file=sys.stderr, flush=True)
            client.execute_cell(nb.cells[i], i)
            nb.cells[i].outputs = [nbformat.from_dict(o) for o in (_keep(json.loads(json.dumps(o)), max_width) for o in nb.cells[i].outputs) if o is not None]
    nbformat.write(nb, nb_path)

if __name__ == '__main__':
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('notebook', type=Path)
    p.add_argument('--cells', nargs='*', default=[], help="cell numbers or ranges, e.g. 0-5 12")
    p.add_argument('--max-width', type=int, default=700)
    p.add_argument('--list', action='store_true', help="print each cell's number, type and first line")
    a = p.parse_args()
    if a.list:
        for i,c in enumerate(json.loads(a.notebook.read_text())['cells']):
            print(i, c['cell_type'][:4], ''.join(c['source']).split('\n')[0][:100])
    else:
        run_cells(a.notebook, cell_numbers(a.cells), a.max_width)
        nb_json = json.loads(a.notebook.read_text())
        a.notebook.write_text(json.dumps(nb_json, indent=1, ensure_ascii=False) + '\n')
