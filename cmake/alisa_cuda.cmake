# The CUDA backend is built whenever nvcc is found (ALISA_CUDA=OFF opts out). No GPU is needed to
# build it: the binary links cudart/cuBLAS (shared) but never the driver library (-lcuda), so it
# starts on machines without a driver and make_backend(cuda) then reports "no usable device".
# Sets ALISA_HAVE_CUDA.
option(ALISA_CUDA "Build the CUDA backend when nvcc is found" ON)
set(ALISA_HAVE_CUDA OFF)
if(ALISA_CUDA)
  # nvcc is rarely on PATH: look where the toolkit installs it.
  if(NOT CMAKE_CUDA_COMPILER AND NOT DEFINED ENV{CUDACXX} AND EXISTS /usr/local/cuda/bin/nvcc)
    set(CMAKE_CUDA_COMPILER /usr/local/cuda/bin/nvcc)
  endif()
  include(CheckLanguage)
  check_language(CUDA)
  if(CMAKE_CUDA_COMPILER)
    if(NOT DEFINED CMAKE_CUDA_ARCHITECTURES)
      set(CMAKE_CUDA_ARCHITECTURES 80 90)  # A100, H100/H200 (nvcc 13 rejects sm_70)
    endif()
    set(CMAKE_CUDA_RUNTIME_LIBRARY Shared)  # else static and shared cudart both get linked
    enable_language(CUDA)
    # CMake 3.25 knows no CUDA20 dialect; nvcc 13 accepts -std=c++20.
    set(CMAKE_CUDA20_STANDARD_COMPILE_OPTION "-std=c++20")
    set(CMAKE_CUDA20_EXTENSION_COMPILE_OPTION "-std=c++20")
    set(CMAKE_CUDA_STANDARD 20)
    set(CMAKE_CUDA_STANDARD_REQUIRED ON)
    find_package(CUDAToolkit REQUIRED)
    set(ALISA_HAVE_CUDA ON)
    message(STATUS "alisa: CUDA backend enabled (nvcc ${CMAKE_CUDA_COMPILER_VERSION}, sm ${CMAKE_CUDA_ARCHITECTURES})")
  else()
    message(STATUS "alisa: nvcc not found, CUDA backend not built")
  endif()
endif()
