# Runs at install time (install(CODE) in cmake/install.cmake): writes the files
# that name the install's own directories — the systemd unit, its tmpfiles.d
# entry and the journal catalog — from their templates. At install time, so
# `cmake --install build --prefix DIR` gets a unit whose ExecStart is
# DIR/bin/tributary, and the .deb (prefix /usr) one with /usr/bin/tributary and
# /etc. Absolute paths follow GNUInstallDirs: prefix /usr (or /) keeps its
# configuration in /etc, /opt/X in /etc/opt/X, any other prefix in PREFIX/etc.
#
# In: CMAKE_INSTALL_PREFIX (the install's), TRIBUTARY_SOURCE_DIR, TRIBUTARY_GENERATED_DIR
# (where the generated files are written first), TRIBUTARY_BINDIR,
# TRIBUTARY_DOCDIR_REL, TRIBUTARY_UNITDIR, TRIBUTARY_TMPFILESDIR, TRIBUTARY_SYSUSERSDIR,
# TRIBUTARY_CATALOGDIR (relative to the prefix), TRIBUTARY_SPOOLDIR (absolute).
# Also installs the example config under the configuration directory.

set(prefix "${CMAKE_INSTALL_PREFIX}")
if(prefix STREQUAL "/usr" OR prefix STREQUAL "/")
  set(sysconfdir "/etc")
elseif(prefix MATCHES "^/opt/")
  set(sysconfdir "/etc${prefix}")
else()
  set(sysconfdir "${prefix}/etc")
endif()
if(prefix STREQUAL "/")
  set(prefix "")
endif()

set(TRIBUTARY_BINDIR "${prefix}/${TRIBUTARY_BINDIR}")
set(TRIBUTARY_DOCDIR "${prefix}/${TRIBUTARY_DOCDIR_REL}")
set(TRIBUTARY_SYSCONFDIR "${sysconfdir}")

set(generated "${TRIBUTARY_GENERATED_DIR}")
configure_file("${TRIBUTARY_SOURCE_DIR}/systemd/tributary.service.in" "${generated}/tributary.service" @ONLY)
configure_file("${TRIBUTARY_SOURCE_DIR}/systemd/tributary.tmpfiles.in" "${generated}/tributary.conf" @ONLY)
# The catalog's @TRIBUTARY_JOB@ is the journal's (a field of the line), not ours: kept as is.
set(TRIBUTARY_JOB "@TRIBUTARY_JOB@")
configure_file("${TRIBUTARY_SOURCE_DIR}/systemd/tributary.catalog.in" "${generated}/tributary.catalog" @ONLY)

file(INSTALL DESTINATION "${prefix}/${TRIBUTARY_UNITDIR}" TYPE FILE FILES "${generated}/tributary.service")
file(INSTALL DESTINATION "${prefix}/${TRIBUTARY_TMPFILESDIR}" TYPE FILE FILES "${generated}/tributary.conf")
file(INSTALL DESTINATION "${prefix}/${TRIBUTARY_CATALOGDIR}" TYPE FILE FILES "${generated}/tributary.catalog")
# The operator's own file is tributary.yaml: never installed, so never overwritten.
file(INSTALL DESTINATION "${sysconfdir}/tributary" TYPE FILE
     FILES "${TRIBUTARY_SOURCE_DIR}/config/examples/tributary.yaml" RENAME tributary.yaml.example)
