# SPDX-License-Identifier: MIT
# Install rules for the desktop integration files, the package's documentation and manual pages,
# and the CPack settings (DEB and TGZ). Included by the top-level CMakeLists.txt once the programs'
# targets exist.
#
#   cmake --build build -j2 && (cd build && cpack -G DEB)   # -> build/moekd-studio_<version>_amd64.deb
#
# Installed layout (prefix /usr in the .deb, CMAKE_INSTALL_PREFIX for `cmake --install`):
#   bin/moekd, bin/moekd-studio
#   lib/moekd/plugins/libmoekd_spm.so   (dlopen()ed from <exe dir>/../lib/moekd/plugins,
#                                engine/data/spm_library.cpp)
#   share/moekd/demo-teacher/, share/moekd/presets/   (found from <exe dir>/../share/moekd,
#                                engine/run/resources.cpp: the demo's shipped teacher, the presets)
#   share/applications/org.moekd.Studio.desktop, share/metainfo/org.moekd.Studio.metainfo.xml
#   share/icons/hicolor/{scalable,48x48,64x64,128x128,256x256}/apps/org.moekd.Studio.{svg,png}
#   share/doc/moekd-studio/{copyright,changelog.gz}, share/man/man1/{moekd,moekd-studio}.1.gz

set(_moekd_pkg ${CMAKE_CURRENT_LIST_DIR})

# What the programs read at run time: the shipped demo teacher (`moekd demo`) and the presets.
install(DIRECTORY ${CMAKE_SOURCE_DIR}/resources/demo-teacher ${CMAKE_SOURCE_DIR}/resources/presets
        DESTINATION share/moekd)

# The changelog and the metainfo name the release being built: refuse a version bump that forgot them.
file(STRINGS ${_moekd_pkg}/debian/changelog _moekd_changelog_top LIMIT_COUNT 1)
if(NOT _moekd_changelog_top MATCHES "^moekd-studio \\(${PROJECT_VERSION}\\) ")
  message(FATAL_ERROR "packaging/debian/changelog starts with `${_moekd_changelog_top}`, "
                      "not with an entry for version ${PROJECT_VERSION} (CMakeLists.txt)")
endif()
file(READ ${_moekd_pkg}/org.moekd.Studio.metainfo.xml _moekd_metainfo)
if(NOT _moekd_metainfo MATCHES "<release version=\"${PROJECT_VERSION}\"")
  message(FATAL_ERROR "packaging/org.moekd.Studio.metainfo.xml has no <release> for version ${PROJECT_VERSION}")
endif()

# Debian's documentation of the package: the machine-readable copyright file and the changelog,
# compressed as policy wants it (gzip -9n: no time stamp, the same bytes from build to build).
set(_moekd_doc share/doc/moekd-studio)  # the package name (CPACK_PACKAGE_NAME below)
find_program(MOEKD_GZIP gzip REQUIRED)
set(_moekd_changelog_gz ${CMAKE_BINARY_DIR}/packaging/changelog.gz)
add_custom_command(OUTPUT ${_moekd_changelog_gz}
  COMMAND ${CMAKE_COMMAND} -E copy ${_moekd_pkg}/debian/changelog ${CMAKE_BINARY_DIR}/packaging/changelog
  COMMAND ${MOEKD_GZIP} -9nf ${CMAKE_BINARY_DIR}/packaging/changelog
  DEPENDS ${_moekd_pkg}/debian/changelog
  COMMENT "Compressing the changelog" VERBATIM)
set(_moekd_package_files ${_moekd_changelog_gz})
install(FILES ${_moekd_pkg}/debian/copyright ${_moekd_changelog_gz} DESTINATION ${_moekd_doc})

# Manual pages from the programs' own --help and --version (help2man, Debian's help2man package),
# so that they cannot fall behind the options. Not in a sanitized build: nothing packages that one,
# and its programs would need sanitizer settings to run at build time.
find_program(MOEKD_HELP2MAN help2man)
if(MOEKD_HELP2MAN AND NOT MOEKD_SANITIZE)
  set(_moekd_man_programs moekd)
  if(TARGET moekd-studio)
    list(APPEND _moekd_man_programs moekd-studio)
  endif()
  foreach(_program IN LISTS _moekd_man_programs)
    set(_page ${CMAKE_BINARY_DIR}/packaging/man/${_program}.1.gz)
    set(_subcommands OFF)
    if(_program STREQUAL "moekd")
      set(_subcommands ON)
    endif()
    add_custom_command(OUTPUT ${_page}
      COMMAND ${CMAKE_COMMAND} -E make_directory ${CMAKE_BINARY_DIR}/packaging/man
      COMMAND ${CMAKE_COMMAND} -DPROGRAM=$<TARGET_FILE:${_program}> -DINCLUDE=${_moekd_pkg}/man/${_program}.h2m
              -DOUT=${_page} -DSUBCOMMANDS=${_subcommands} -P ${_moekd_pkg}/man_page.cmake
      DEPENDS ${_program} ${_moekd_pkg}/man/${_program}.h2m ${_moekd_pkg}/man_page.cmake
      COMMENT "Writing the manual page ${_program}.1" VERBATIM)
    list(APPEND _moekd_package_files ${_page})
    install(FILES ${_page} DESTINATION share/man/man1)
  endforeach()
elseif(NOT MOEKD_SANITIZE)
  message(STATUS "help2man not found: no manual pages (scripts/setup.sh installs it)")
endif()
add_custom_target(moekd_package_files ALL DEPENDS ${_moekd_package_files})

# The studio's desktop entry, AppStream metadata and icons go with the studio only.
if(TARGET moekd-studio)
  install(FILES ${_moekd_pkg}/org.moekd.Studio.desktop DESTINATION share/applications)
  install(FILES ${_moekd_pkg}/org.moekd.Studio.metainfo.xml DESTINATION share/metainfo)
  install(FILES ${_moekd_pkg}/icons/org.moekd.Studio.svg DESTINATION share/icons/hicolor/scalable/apps)
  foreach(_size 48 64 128 256)
    install(FILES ${_moekd_pkg}/icons/hicolor/${_size}x${_size}/apps/org.moekd.Studio.png
            DESTINATION share/icons/hicolor/${_size}x${_size}/apps)
  endforeach()
endif()

# Values are written to CPackConfig.cmake exactly as set here (quotes, regex backslashes).
set(CPACK_VERBATIM_VARIABLES ON)
set(CPACK_GENERATOR "DEB;TGZ")
set(CPACK_PACKAGE_NAME "moekd-studio")
set(CPACK_PACKAGE_VERSION "${PROJECT_VERSION}")
set(CPACK_PACKAGE_VENDOR "MoE-KD Studio team")
set(CPACK_PACKAGE_CONTACT "MoE-KD Studio team <team@moekd.org>")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "distil Mixture-of-Experts language models into small students")
# Lines of at most 80 characters: dpkg shows them as written (lintian: extended-description-line-too-long).
set(CPACK_PACKAGE_DESCRIPTION
  "MoE-KD Studio distils a large Mixture-of-Experts language model (Mixtral,
Qwen-MoE, OLMoE, LLaMA-MoE) into a small student with classic knowledge
distillation and the two MoE-specific methods of \"Every Expert Matters\":
Knowledge Augmentation and the Student-Aware Router. Training runs on
LibTorch, on the CPU or a CUDA GPU, and the student is exported in Hugging
Face format.

The package holds the headless command line tool moekd and, when built with
the studio, the Qt 6 desktop application moekd-studio with live loss charts,
expert heatmaps and router views.")
set(CPACK_STRIP_FILES ON)

# Debian: moekd-studio_<version>_<arch>.deb, installed under /usr.
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_MAINTAINER "MoE-KD Studio team <team@moekd.org>")
set(CPACK_DEBIAN_PACKAGE_SECTION "science")
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION ON)
# LibTorch links the generic libblas.so.3; OpenBLAS makes it ~30x faster (see `moekd doctor`).
set(CPACK_DEBIAN_PACKAGE_RECOMMENDS "libopenblas0-pthread")
# Depends from what the binaries (and libmoekd_spm.so) actually link, when dpkg-shlibdeps is here
# (dpkg-dev). It needs every linked library to come from a Debian package: with a LibTorch from
# PyPI, configure with -DMOEKD_DEB_SHLIBDEPS=OFF and the hand-written list below is used instead.
find_program(MOEKD_DPKG_SHLIBDEPS dpkg-shlibdeps)
if(MOEKD_DPKG_SHLIBDEPS)
  set(_moekd_shlibdeps_default ON)
else()
  set(_moekd_shlibdeps_default OFF)
endif()
option(MOEKD_DEB_SHLIBDEPS "Compute the .deb's Depends with dpkg-shlibdeps" ${_moekd_shlibdeps_default})
if(MOEKD_DEB_SHLIBDEPS)
  set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
else()
  # Debian 12's names; LibTorch's package is named after its major.minor version (libtorch1.13).
  set(_moekd_depends "libc6" "libstdc++6" "libsentencepiece0")
  if(MOEKD_WITH_TOKENIZER_JSON)
    list(APPEND _moekd_depends "libicu72" "libpcre2-8-0")
  endif()
  get_property(_moekd_dist GLOBAL PROPERTY MOEKD_DIST_BACKENDS)
  if(gloo IN_LIST _moekd_dist)
    list(APPEND _moekd_depends "libgloo0")
  endif()
  if(DEFINED Torch_VERSION_MAJOR AND DEFINED Torch_VERSION_MINOR)
    list(APPEND _moekd_depends "libtorch${Torch_VERSION_MAJOR}.${Torch_VERSION_MINOR}")
  else()
    list(APPEND _moekd_depends "libtorch1.13")
  endif()
  if(TARGET moekd-studio)
    list(APPEND _moekd_depends "libqt6core6" "libqt6gui6" "libqt6widgets6" "libqt6printsupport6"
                               "libqcustomplot2.1-qt6")
  endif()
  string(REPLACE ";" ", " CPACK_DEBIAN_PACKAGE_DEPENDS "${_moekd_depends}")
endif()

# `make package_source`: the sources only, not build trees or local caches.
set(CPACK_SOURCE_GENERATOR "TGZ")
set(CPACK_SOURCE_IGNORE_FILES "/\\.git/" "/build/" "/build-[^/]*/" "/\\.whl/" "/\\.gl/"
    "__pycache__" "/moekd-demo/" "\\.tmp$" "build\\.cmake\\.log$")

include(CPack)
