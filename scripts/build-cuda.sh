#!/usr/bin/env bash
# Builds mtl-run with the `cuda` feature on a machine with no GPU and no CUDA
# toolkit: target/cuda/release/mtl-run, for a GPU machine with driver >= 580
# (CUDA 13.0). See docs/gpu.md.
#
#   scripts/build-cuda.sh            # toolkit into target/cuda-toolkit (once), then cargo build
#
# Environment:
#   BUILD_CUDA_HOME   where the toolkit goes (default: target/cuda-toolkit)
#   BUILD_CUDA_ARCH   the GPU's compute capability the kernels are compiled for (default 9.0: H100/H200)
# (Not MTL_*: mtl-run reads those as config overrides.)
#
# What it does, and why each step is needed:
#  1. CUDA 13.0 from PyPI wheels, in one `pip install --no-deps --target`
#     (CUDA 12 wheels ship no nvcc). dfdx compiles its .cu kernels with nvcc.
#  2. Unversioned libnvrtc.so, libcublas.so and libcublasLt.so links: cudarc
#     links -lnvrtc -lcublas -lcublasLt, and the wheels ship only .so.13.
#  3. A stub libcuda.so (soname libcuda.so.1) in lib64/stubs, where NVIDIA's
#     own toolkits keep theirs: cudarc links -lcuda, the driver library, which
#     only a machine with an NVIDIA driver has. The stub exports every driver
#     function cudarc binds and each returns CUDA_ERROR_STUB_LIBRARY. It is for
#     linking only: a GPU machine must load its driver's real libcuda.so.1.
#  4. An nvidia-smi stand-in that prints the compute capability: dfdx's build
#     script always asks nvidia-smi, and panics without one.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
home="${BUILD_CUDA_HOME:-$root/target/cuda-toolkit}"
arch="${BUILD_CUDA_ARCH:-9.0}"
cuda="$home/nvidia/cu13"
wheels=(
    nvidia-cuda-nvcc==13.0.88 nvidia-nvvm==13.0.88 nvidia-cuda-crt==13.0.88
    nvidia-cuda-cccl==13.0.85 nvidia-cuda-runtime==13.0.96 nvidia-cuda-nvrtc==13.0.88
    nvidia-cublas==13.0.2.14
)

if [[ ! "$arch" =~ ^[0-9]+\.[0-9]$ ]]; then
    echo "error: BUILD_CUDA_ARCH=$arch: expected a compute capability such as 9.0 (H100/H200) or 8.0 (A100)" >&2
    exit 1
fi
for tool in python3 gcc cargo; do
    command -v "$tool" >/dev/null || { echo "error: $tool is not on PATH; build-cuda.sh needs it" >&2; exit 1; }
done

# 1. The toolkit (about 1.1 GB unpacked), once: `.complete` lists the
#    wheels it holds, `.partial` marks an install that did not finish.
if [[ "$(cat "$home/.complete" 2>/dev/null)" != "${wheels[*]}" ]]; then
    if [[ -e "$home" && ! -d "$home" ]] ||
        [[ -d "$home" && -n "$(ls -A "$home")" && ! -f "$home/.complete" && ! -f "$home/.partial" ]]; then
        echo "error: BUILD_CUDA_HOME=$home is a folder this script did not make; give an empty or new one" >&2
        exit 1
    fi
    echo "installing CUDA 13.0 from PyPI wheels into $home (once; about 600 MB to download)"
    rm -rf "$home"
    mkdir -p "$home"
    touch "$home/.partial"
    PIP_ROOT_USER_ACTION=ignore python3 -m pip install --quiet --disable-pip-version-check \
        --no-deps --target "$home" "${wheels[@]}"
    echo "${wheels[*]}" > "$home/.complete"
    rm "$home/.partial"
fi

# 2. Unversioned links for the linker.
for lib in nvrtc cublas cublasLt; do
    ln -sf "lib$lib.so.13" "$cuda/lib/lib$lib.so"
done

# 3. The link-time stub of the driver library.
stubs="$cuda/lib64/stubs"
mkdir -p "$stubs"
sys_rs="$(cd "$root" && cargo metadata --format-version 1 --locked --features cuda | python3 -c '
import json, os, sys
meta = json.load(sys.stdin)
path = next(p["manifest_path"] for p in meta["packages"] if p["name"] == "cudarc")
print(os.path.join(os.path.dirname(path), "src", "driver", "sys.rs"))
')"
{
    echo "/* Written by scripts/build-cuda.sh from cudarc's src/driver/sys.rs: a link-time stand-in for libcuda.so.1. */"
    echo "#define CUDA_ERROR_STUB_LIBRARY 34"
    echo 'int cuGetErrorString(int error, const char **s) { *s = error == CUDA_ERROR_STUB_LIBRARY ? "CUDA driver is a stub library (the link-time stand-in of scripts/build-cuda.sh; this machine has no NVIDIA driver)" : "unknown error"; return 0; }'
    echo 'int cuGetErrorName(int error, const char **s) { *s = error == CUDA_ERROR_STUB_LIBRARY ? "CUDA_ERROR_STUB_LIBRARY" : "CUDA_ERROR_UNKNOWN"; return 0; }'
    grep -o 'pub fn cu[A-Za-z0-9_]*' "$sys_rs" | sed 's/pub fn //' | sort -u \
        | grep -v -x -e cuGetErrorString -e cuGetErrorName \
        | sed 's/.*/int &(void) { return CUDA_ERROR_STUB_LIBRARY; }/'
} > "$stubs/libcuda-stub.c"
gcc -shared -fPIC -Wl,-soname,libcuda.so.1 -o "$stubs/libcuda.so" "$stubs/libcuda-stub.c"
ln -sf libcuda.so "$stubs/libcuda.so.1"

# 4. The nvidia-smi stand-in, on PATH for the build only.
fake_bin="$home/fake-bin"
mkdir -p "$fake_bin"
cat > "$fake_bin/nvidia-smi" <<EOF
#!/bin/sh
# Written by scripts/build-cuda.sh: the compute capability dfdx's build script asks for.
echo compute_cap
echo $arch
EOF
chmod +x "$fake_bin/nvidia-smi"

echo "building mtl-run with CUDA for compute capability $arch into target/cuda"
(
    cd "$root"
    export CUDA_ROOT="$cuda"
    # dfdx's build script reruns when this changes (not when nvidia-smi's answer does), and it wins.
    export CUDA_COMPUTE_CAP="${arch/./}"
    export PATH="$fake_bin:$cuda/bin:$PATH"
    cargo build --release --locked --features cuda --target-dir "$root/target/cuda" --bin mtl-run
)

cat <<EOF
built $root/target/cuda/release/mtl-run (CUDA 13.0, sm_${arch/./})
On a GPU machine, with the CUDA 13 libraries of a Python environment (torch's nvidia/cu13/lib):
  LD_LIBRARY_PATH=/path/to/site-packages/nvidia/cu13/lib target/cuda/release/mtl-run --device cuda FILE
  scripts/gpu-check.sh       # CPU vs CUDA on a short MNIST run (docs/gpu.md)
Here, without a driver, it runs on the stub (and --device cuda says there is no usable GPU):
  LD_LIBRARY_PATH=$cuda/lib:$stubs target/cuda/release/mtl-run --device cuda FILE
EOF
