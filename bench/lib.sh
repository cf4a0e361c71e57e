# Shared by the bench scripts (sourced, not run).

# empty_inputs DIR N: N empty input files DIR/inputs/run_NNNNNN.root, listed one a line in DIR/inputs.txt
empty_inputs() {
  mkdir -p "$1/inputs"
  python3 - "$1" "$2" <<'PY'
import os, sys
d, n = sys.argv[1], int(sys.argv[2])
with open(os.path.join(d, 'inputs.txt'), 'w') as f:
    for i in range(n):
        p = os.path.join(d, 'inputs', f'run_{i:06d}.root')
        open(p, 'w').close()
        f.write(p + '\n')
PY
}
