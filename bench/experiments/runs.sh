# Shared by the cnn sweeps (sourced): builds frugal once, then `run NAME [flags...]` trains one run of the common
# recipe into $out/NAME and remembers it in `runs` for the summary. Needs out, epochs, limit, test_limit, seed.
dotnet build src/Frugal.Cli -c Release -v q -nologo >/dev/null
frugal=src/Frugal.Cli/bin/Release/net10.0/frugal
mkdir -p "$out"
common=(train --model cnn --epochs "$epochs" --train-limit "$limit" --test-limit "$test_limit" --seed "$seed")
runs=()
run() {   # run NAME [extra flags...]
  local name=$1; shift
  echo "--- $name: ${*:-baseline}"
  rm -rf "${out:?}/$name"
  "$frugal" "${common[@]}" --out "$out/$name" "$@" | grep '^epoch' || true
  runs+=("$name=$out/$name")
}
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs); $(date -u +%Y-%m-%dT%H:%MZ)"
