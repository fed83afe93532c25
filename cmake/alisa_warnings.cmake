# Project-wide warning policy: -Wall -Wextra for C++ only, so nvcc never sees host flags.
add_library(alisa_warnings INTERFACE)
target_compile_options(alisa_warnings INTERFACE
  $<$<COMPILE_LANGUAGE:CXX>:-Wall -Wextra -Wpedantic -Wno-missing-field-initializers>)

# alisa_folder_library(<name> DIR <dir> [EXCLUDE_REGEX re] [DEPS targets...] [PRIVATE_DEPS targets...])
# One library per folder: globs the folder's sources (recursively) so adding a file needs no CMake
# edit; becomes an INTERFACE library while the folder has headers only. Includes are rooted at the
# repository top, e.g. #include "model/model_config.hpp".
function(alisa_folder_library name)
  cmake_parse_arguments(ARG "" "DIR;EXCLUDE_REGEX" "DEPS;PRIVATE_DEPS" ${ARGN})
  file(GLOB_RECURSE _srcs CONFIGURE_DEPENDS "${ARG_DIR}/*.cpp")
  if(ARG_EXCLUDE_REGEX)
    list(FILTER _srcs EXCLUDE REGEX "${ARG_EXCLUDE_REGEX}")
  endif()
  if(_srcs)
    add_library(${name} STATIC ${_srcs})
    target_include_directories(${name} PUBLIC ${PROJECT_SOURCE_DIR})
    target_link_libraries(${name} PUBLIC ${ARG_DEPS} PRIVATE alisa_warnings ${ARG_PRIVATE_DEPS})
  else()
    add_library(${name} INTERFACE)
    target_include_directories(${name} INTERFACE ${PROJECT_SOURCE_DIR})
    target_link_libraries(${name} INTERFACE ${ARG_DEPS})
  endif()
endfunction()
