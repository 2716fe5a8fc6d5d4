# What `cmake --install` (and the .deb, cmake/package.cmake) installs besides the binary:
# the systemd unit, its tmpfiles.d and sysusers.d entries, the journal catalog, an example
# config and the documentation the unit's Documentation= points at. Files that name install
# directories are generated at install time (cmake/install_generated.cmake), so an install
# with `--prefix DIR` gets a unit that runs DIR/bin/tributary.

include(GNUInstallDirs)

# Relative to the prefix: systemd searches /usr/lib/... and /usr/local/lib/... (not the
# multiarch libdir), whatever the prefix.
set(TRIBUTARY_UNITDIR "lib/systemd/system" CACHE STRING "systemd unit directory, relative to the prefix")
set(TRIBUTARY_TMPFILESDIR "lib/tmpfiles.d" CACHE STRING "tmpfiles.d directory, relative to the prefix")
set(TRIBUTARY_SYSUSERSDIR "lib/sysusers.d" CACHE STRING "sysusers.d directory, relative to the prefix")
set(TRIBUTARY_CATALOGDIR "lib/systemd/catalog" CACHE STRING "journal catalog directory, relative to the prefix")
# The ingest spool producers write into (FHS /var/spool), made by tmpfiles.d.
set(TRIBUTARY_SPOOLDIR "/var/spool/tributary" CACHE PATH "spool directory the unit makes writable")

install(CODE "
  set(TRIBUTARY_SOURCE_DIR \"${PROJECT_SOURCE_DIR}\")
  set(TRIBUTARY_GENERATED_DIR \"${PROJECT_BINARY_DIR}/install-generated\")
  set(TRIBUTARY_BINDIR \"${CMAKE_INSTALL_BINDIR}\")
  set(TRIBUTARY_DOCDIR_REL \"${CMAKE_INSTALL_DOCDIR}\")
  set(TRIBUTARY_UNITDIR \"${TRIBUTARY_UNITDIR}\")
  set(TRIBUTARY_TMPFILESDIR \"${TRIBUTARY_TMPFILESDIR}\")
  set(TRIBUTARY_CATALOGDIR \"${TRIBUTARY_CATALOGDIR}\")
  set(TRIBUTARY_SPOOLDIR \"${TRIBUTARY_SPOOLDIR}\")
  include(\"${PROJECT_SOURCE_DIR}/cmake/install_generated.cmake\")
")
install(FILES systemd/tributary.sysusers DESTINATION "${TRIBUTARY_SYSUSERSDIR}" RENAME tributary.conf)

install(FILES README.md DESTINATION "${CMAKE_INSTALL_DOCDIR}")
foreach(connector dummy jsonl webhook)
  install(FILES connectors/${connector}/README.md DESTINATION "${CMAKE_INSTALL_DOCDIR}/connectors/${connector}")
endforeach()
install(FILES config/examples/full.yaml config/examples/demo.yaml DESTINATION "${CMAKE_INSTALL_DOCDIR}/examples")
install(FILES systemd/tributary.service.d/credentials.conf.example
              systemd/tributary.service.d/paths.conf.example
        DESTINATION "${CMAKE_INSTALL_DOCDIR}/examples/tributary.service.d")
