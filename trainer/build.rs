//! libtorch's CUDA kernels live in libtorch_cuda.so, which nothing references
//! directly: without an explicit, non-as-needed link the binary drops it and
//! `Cuda::is_available()` is silently false. Link it when the torch build has it.
//! It also compiles `src/amp.cpp` (the bfloat16 autocast switch tch lacks).
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
        let include = lib.parent().expect("torch/lib has a parent").join("include");
        println!("cargo:rerun-if-changed=src/amp.cpp");
        cc::Build::new()
            .cpp(true)
            .file("src/amp.cpp")
            .include(&include)
            .include(include.join("torch/csrc/api/include"))
            .flag("-std=c++17")
            .define("_GLIBCXX_USE_CXX11_ABI", cxx11_abi().as_str())
            .warnings(false)
            .compile("icd_amp");
        println!("cargo:rustc-link-lib=torch_cpu");
        println!("cargo:rustc-link-lib=c10");
    } else {
        panic!("libtorch not found: set LIBTORCH, or LIBTORCH_USE_PYTORCH=1 with torch installed (scripts/env.sh)");
    }
}

/// libtorch's C++ ABI flag, as torch-sys reads it ("1" for the PyPI wheels).
fn cxx11_abi() -> String {
    if let Ok(v) = std::env::var("LIBTORCH_CXX11_ABI") {
        return v;
    }
    let out = std::process::Command::new(std::env::var("PYTHON_SYS_EXECUTABLE").unwrap_or_else(|_| "python3".into()))
        .args(["-c", "import torch; print(int(torch._C._GLIBCXX_USE_CXX11_ABI))"])
        .output();
    match out {
        Ok(o) if o.status.success() => String::from_utf8_lossy(&o.stdout).trim().to_string(),
        _ => "1".into(),
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
