//! libtorch's CUDA kernels live in libtorch_cuda.so, which nothing references
//! directly: without an explicit, non-as-needed link the binary drops it and
//! `Cuda::is_available()` is silently false. Link it when the torch build has it.
use std::path::PathBuf;

fn main() {
    println!("cargo:rerun-if-env-changed=LIBTORCH");
    println!("cargo:rerun-if-env-changed=LIBTORCH_USE_PYTORCH");
    if let Some(lib) = torch_lib_dir() {
        println!("cargo:rustc-link-search=native={}", lib.display());
        println!("cargo:rustc-link-arg=-Wl,-rpath,{}", lib.display());
        if lib.join("libtorch_cuda.so").exists() {
            println!("cargo:rustc-link-arg-bins=-Wl,--push-state,--no-as-needed,-ltorch_cuda,--pop-state");
        }
    }
}

fn torch_lib_dir() -> Option<PathBuf> {
    if let Ok(p) = std::env::var("LIBTORCH") {
        return Some(PathBuf::from(p).join("lib"));
    }
    let out = std::process::Command::new(std::env::var("PYTHON_SYS_EXECUTABLE").unwrap_or_else(|_| "python3".into()))
        .args(["-c", "import torch, os; print(os.path.join(os.path.dirname(torch.__file__), 'lib'))"])
        .output()
        .ok()?;
    out.status.success().then(|| PathBuf::from(String::from_utf8_lossy(&out.stdout).trim()))
}
