{
  "targets": [
    {
      "target_name": "mnist_native",
      "sources": [
        "src/addon.cc",
        "src/matmul.cc",
        "src/conv.cc",
        "src/pool.cc",
        "src/eltwise.cc",
        "src/reduce.cc",
        "src/optimizer.cc",
        "src/dense_step.cc", "src/dense_step_avx2.cc", "src/dense_step_avx512.cc",
        "src/cnn_step.cc", "src/batch_norm.cc"
      ],
      "include_dirs": ["<!(node -p \"require('node-addon-api').include_dir\")"],
      "defines": ["NAPI_VERSION=8", "NAPI_CPP_EXCEPTIONS"],
      "cflags!": ["-fno-exceptions", "-O2", "-O0"],
      "cflags_cc!": ["-fno-exceptions", "-fno-rtti", "-O2", "-O0"],
      "cflags_cc": ["-std=c++17", "-fexceptions", "-O3", "-mavx2", "-mfma", "-fopenmp", "-fno-math-errno", "-fno-trapping-math"],
      "libraries": ["-ldnnl", "-lgomp"],
      "ldflags": ["-Wl,--disable-new-dtags", "-Wl,-rpath,'$$ORIGIN'"]
    }
  ]
}
