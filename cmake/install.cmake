# install.cmake — what `cmake --install` / `make install PREFIX=...` puts where (GNU layout):
#   bin/npugen                                   the CLI (links the static library: no RPATH needed)
#   lib/libnpugen.so.X.Y.Z (+ SONAME link), lib/libnpugen.a
#   include/npugen.h, include/npugen/*.h          the public header and its parts
#   lib/pkgconfig/npugen.pc                      pkg-config (Requires.private: the static deps)
#   lib/cmake/npugen/                            find_package(npugen) -> npugen::npugen(_static)
#   share/man/man1/npugen.1, share/bash-completion/completions/npugen
include(CMakePackageConfigHelpers)

# Programs linked against the installed shared library from a non-system prefix find it: the library
# itself carries no RUNPATH (it needs none), consumers get one from CMake or the README's link line.
install(TARGETS npugen RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
install(TARGETS npugen_shared npugen_static EXPORT npugen-targets
        LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR} NAMELINK_COMPONENT Unspecified
        ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR})
install(FILES ${CMAKE_CURRENT_SOURCE_DIR}/include/npugen.h DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
install(DIRECTORY ${CMAKE_CURRENT_SOURCE_DIR}/include/npugen/ DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}/npugen
        FILES_MATCHING PATTERN "*.h")
install(FILES ${CMAKE_CURRENT_SOURCE_DIR}/docs/npugen.1 DESTINATION ${CMAKE_INSTALL_MANDIR}/man1)
install(FILES ${CMAKE_CURRENT_SOURCE_DIR}/scripts/npugen-completion.bash
        DESTINATION ${CMAKE_INSTALL_DATADIR}/bash-completion/completions RENAME npugen)

# The static library's dependencies, read from its link line so a new pkg-config dependency reaches
# npugen.pc and the CMake package without another edit: PkgConfig::X -> X's module, Threads, m.
get_target_property(_npg_links npugen_static LINK_LIBRARIES)
set(NPG_PC_REQUIRES_PRIVATE "")
set(NPG_PC_LIBS_PRIVATE "")
set(NPG_CONFIG_PKG_DEPS "")
foreach(_lib ${_npg_links})
  if(_lib MATCHES "^PkgConfig::(.+)$")
    set(_prefix ${CMAKE_MATCH_1})
    string(APPEND NPG_PC_REQUIRES_PRIVATE " ${${_prefix}_MODULE_NAME}")
    string(APPEND NPG_CONFIG_PKG_DEPS " ${_prefix} ${${_prefix}_MODULE_NAME}")
  elseif(_lib STREQUAL "Threads::Threads")
    string(APPEND NPG_PC_LIBS_PRIVATE " -pthread")
  elseif(_lib MATCHES "^[A-Za-z0-9_+-]+$")
    string(APPEND NPG_PC_LIBS_PRIVATE " -l${_lib}")
  else()
    message(FATAL_ERROR "cmake/install.cmake: npugen_static links ${_lib}: say how npugen.pc names it")
  endif()
endforeach()
string(STRIP "${NPG_PC_REQUIRES_PRIVATE}" NPG_PC_REQUIRES_PRIVATE)
string(STRIP "${NPG_PC_LIBS_PRIVATE}" NPG_PC_LIBS_PRIVATE)

# CMake package: relocatable (paths relative to the package folder), version file: same major.
set(NPG_CMAKE_DIR ${CMAKE_INSTALL_LIBDIR}/cmake/npugen)
install(EXPORT npugen-targets NAMESPACE npugen:: DESTINATION ${NPG_CMAKE_DIR})
configure_package_config_file(${CMAKE_CURRENT_SOURCE_DIR}/cmake/npugenConfig.cmake.in
                              ${CMAKE_CURRENT_BINARY_DIR}/npugenConfig.cmake INSTALL_DESTINATION ${NPG_CMAKE_DIR})
write_basic_package_version_file(${CMAKE_CURRENT_BINARY_DIR}/npugenConfigVersion.cmake
                                 COMPATIBILITY SameMajorVersion)
install(FILES ${CMAKE_CURRENT_BINARY_DIR}/npugenConfig.cmake ${CMAKE_CURRENT_BINARY_DIR}/npugenConfigVersion.cmake
        DESTINATION ${NPG_CMAKE_DIR})

# npugen.pc names absolute paths, so it is written at install time, when the prefix is known
# (`cmake --install --prefix P` may differ from the configured CMAKE_INSTALL_PREFIX).
install(CODE "
  set(PROJECT_VERSION \"${PROJECT_VERSION}\")
  set(NPG_PC_REQUIRES_PRIVATE \"${NPG_PC_REQUIRES_PRIVATE}\")
  set(NPG_PC_LIBS_PRIVATE \"${NPG_PC_LIBS_PRIVATE}\")
  set(NPG_PC_LIBDIR \"${CMAKE_INSTALL_LIBDIR}\")
  set(NPG_PC_INCLUDEDIR \"${CMAKE_INSTALL_INCLUDEDIR}\")
  configure_file(\"${CMAKE_CURRENT_SOURCE_DIR}/cmake/npugen.pc.in\" \"${CMAKE_CURRENT_BINARY_DIR}/npugen.pc\" @ONLY)
  file(INSTALL DESTINATION \"\${CMAKE_INSTALL_PREFIX}/${CMAKE_INSTALL_LIBDIR}/pkgconfig\" TYPE FILE
       FILES \"${CMAKE_CURRENT_BINARY_DIR}/npugen.pc\")
")
