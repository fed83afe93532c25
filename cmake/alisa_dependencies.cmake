# Every third-party dependency comes from a Debian package (scripts/install-deps.sh).
# Nothing is downloaded at build time.
find_package(Threads REQUIRED)
find_package(absl CONFIG REQUIRED)
find_package(nlohmann_json 3 CONFIG REQUIRED)
find_package(hwy CONFIG REQUIRED)
find_package(PkgConfig REQUIRED)
pkg_check_modules(SENTENCEPIECE REQUIRED IMPORTED_TARGET sentencepiece)
pkg_check_modules(LIBDEFLATE REQUIRED IMPORTED_TARGET libdeflate)
find_package(CAF REQUIRED COMPONENTS core io openssl)
find_package(RocksDB CONFIG REQUIRED)
if(ALISA_BUILD_TESTS)
  find_package(GTest CONFIG REQUIRED)
endif()
