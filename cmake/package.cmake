# The Debian package (`cpack -G DEB` in a build directory; scripts/package.sh builds and checks
# it). Prefix /usr, configuration in /etc (cmake/install_generated.cmake), dependencies found by
# dpkg-shlibdeps from the libraries the binary links (Debian 12: libboost-json1.81.0,
# libspdlog1.10, libssl3, …). Maintainer scripts: packaging/debian/ (what debhelper would
# generate for a sysusers/tmpfiles entry and a unit that is not enabled by default).

set(CPACK_GENERATOR "DEB")
set(CPACK_PACKAGE_NAME "tributary")
set(CPACK_PACKAGE_VERSION "${PROJECT_VERSION}")
set(CPACK_PACKAGE_VENDOR "tributary")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "sync daemon for customer data")
set(CPACK_PACKAGE_DESCRIPTION
    "tributary moves users (profiles, contacts) and events (track/identify/page calls) between SaaS
applications, local files and databases, on a schedule, under each vendor's rate limits, without
losing data. It runs as a hardened systemd service (not enabled on install), is configured by
/etc/tributary/tributary.yaml and is monitored through the journal.")
set(CPACK_PACKAGE_CONTACT "tributary maintainers <maintainers@users.noreply.r-seed-603bdfdc.example>"
    CACHE STRING "Maintainer field of the .deb")
set(CPACK_PACKAGING_INSTALL_PREFIX "/usr")
# DESTDIR staging with prefix /usr, whatever the build's CMAKE_INSTALL_PREFIX: the install sees
# /usr, so the generated unit names /usr/bin and /etc (cmake/install_generated.cmake).
set(CPACK_SET_DESTDIR ON)
set(CPACK_INSTALL_PREFIX "/usr")
set(CPACK_STRIP_FILES ON)

set(CPACK_DEBIAN_FILE_NAME "DEB-DEFAULT")
set(CPACK_DEBIAN_PACKAGE_RELEASE "1")
set(CPACK_DEBIAN_PACKAGE_SECTION "net")
set(CPACK_DEBIAN_PACKAGE_PRIORITY "optional")
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_PACKAGE_CONTROL_EXTRA
    "${PROJECT_SOURCE_DIR}/packaging/debian/conffiles"
    "${PROJECT_SOURCE_DIR}/packaging/debian/postinst"
    "${PROJECT_SOURCE_DIR}/packaging/debian/prerm"
    "${PROJECT_SOURCE_DIR}/packaging/debian/postrm")
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION ON)

include(CPack)
