# RADMARK_HARDENING: the compile and link flags of Debian's hardened builds (dpkg-buildflags with
# hardening=+all on amd64), for every target. ON in every build: the tests run the code as it
# ships, and the package's build (build-package/, tests/package/BuildPackage.sh) finds the
# objects of build/ in the compile cache (only the files a test build compiles differently, with
# its test hooks, are compiled again). OFF only to compare.
option(RADMARK_HARDENING "Stack protector, _FORTIFY_SOURCE=2, PIE, full RELRO" ON)
if(RADMARK_HARDENING)
  include(CheckPIESupported)
  check_pie_supported(LANGUAGES C CXX)
  # -fPIE for executables, -fPIC for libraries and modules (radmark-ocr.so), -pie at link.
  set(CMAKE_POSITION_INDEPENDENT_CODE ON)
  add_compile_options(-fstack-protector-strong -fstack-clash-protection -fcf-protection
                      -Wformat -Werror=format-security)
  # _FORTIFY_SOURCE needs the optimiser; the package is RelWithDebInfo (-O2).
  add_compile_definitions(_FORTIFY_SOURCE=2)
  add_link_options(-Wl,-z,relro -Wl,-z,now)
endif()
