#!/usr/bin/env bash
# Installs what lyco needs on Debian 12 and builds it; safe to run again (each step is skipped
# when already done). apt: libtorch-dev (CPU libtorch 1.13), OpenBLAS as the BLAS libtorch loads,
# cmake/ninja/g++; npm dependencies; the native addon; the generated operator wrappers.
set -euo pipefail
cd "$(dirname "$0")/.."
say() { echo "lyco bootstrap: $*"; }
die() { echo "lyco bootstrap: $*" >&2; exit 1; }

command -v node >/dev/null || die "Node.js 20 or newer is needed (apt-get install nodejs npm)"
node -e 'const [a,b]=process.versions.node.split(".").map(Number); process.exit(a>20||(a===20&&b>=17)?0:1)' \
  || die "Node $(node --version) is too old; lyco needs Node >= 20.17"

# 1. System packages (skipped when present, or when LIBTORCH points at another libtorch).
pkgs=(libopenblas0-pthread cmake ninja-build g++ make)
[ -n "${LIBTORCH:-}${LIBTORCH_USE_PYTORCH:-}" ] || pkgs=(libtorch-dev "${pkgs[@]}")
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  command -v apt-get >/dev/null || die "missing ${missing[*]} and no apt-get: install them with your package manager"
  if [ "$(id -u)" = 0 ]; then sudo=(); elif command -v sudo >/dev/null; then sudo=(sudo); else
    die "missing ${missing[*]}; run as root or: sudo apt-get install ${missing[*]}"
  fi
  say "installing ${missing[*]} (apt)"
  "${sudo[@]}" apt-get update -qq || die "apt-get update failed; check the network or apt sources"
  DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null \
    || die "apt-get install ${missing[*]} failed (see above)"
fi

# 2. OpenBLAS must be the libblas.so.3 libtorch loads: reference BLAS is ~30x slower at matmul.
alt=libblas.so.3-$(dpkg-architecture -qDEB_HOST_MULTIARCH 2>/dev/null || echo x86_64-linux-gnu)
if command -v update-alternatives >/dev/null && update-alternatives --query "$alt" >/dev/null 2>&1; then
  current=$(update-alternatives --query "$alt" | sed -n 's/^Value: //p')
  if [[ "$current" != *openblas* ]]; then
    target=$(update-alternatives --list "$alt" | grep openblas-pthread | head -n1)
    [ -n "$target" ] || die "OpenBLAS is installed but not registered as $alt; run: apt-get install --reinstall libopenblas0-pthread"
    say "selecting OpenBLAS ($target) as libblas.so.3"
    if [ "$(id -u)" = 0 ]; then update-alternatives --set "$alt" "$target" >/dev/null; else sudo update-alternatives --set "$alt" "$target" >/dev/null; fi
  fi
fi

# 3. npm dependencies (npm ci when the lock changed).
if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  say "installing npm dependencies"
  npm ci --no-audit --no-fund --loglevel=error || die "npm ci failed (see above)"
fi

# 4. The native addon, rebuilt when a source is newer than it.
addon=native/build/Release/lyco.node
if [ ! -f "$addon" ] || [ -n "$(find native/src native/CMakeLists.txt native/cmake -newer "$addon" -print -quit)" ]; then
  say "building the native addon (about a minute on 2 cores)"
  node scripts/build-native.mjs || die "the native addon did not build (see above)"
fi

# 5. Typed operator wrappers from this libtorch's schema registry.
gen=src/torch/generated/ops.ts
if [ ! -f "$gen" ] || [ "$addon" -nt "$gen" ] || [ src/torch/ops.txt -nt "$gen" ] || [ scripts/gen-ops.ts -nt "$gen" ]; then
  node --import tsx scripts/gen-ops.ts || die "generating operator wrappers failed (see above)"
fi
say "ready ($(node --import tsx -e 'import("./src/torch/runtime.ts").then(m=>{const i=m.info();console.log(`libtorch ${i.torchVersion}, ${i.threads} threads, BLAS ${i.blas}${i.cuda?", CUDA":""}`)})'))"
