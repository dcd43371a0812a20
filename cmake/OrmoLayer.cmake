# ormo_layer(TARGET LAYER): makes TARGET the library of layer LAYER (a
# top-level folder whose public headers are under LAYER/ormo/): its headers
# are found as "ormo/..." in the build tree and in an installed package, it
# is installed and exported as ormo::LAYER, and an alias of that name lets
# the build tree use the same spelling as a host program.
include(GNUInstallDirs)

function(ormo_layer target layer)
  get_target_property(type ${target} TYPE)
  if(type STREQUAL "INTERFACE_LIBRARY")
    set(scope INTERFACE)
  else()
    set(scope PUBLIC)
  endif()
  target_include_directories(${target} ${scope}
    "$<BUILD_INTERFACE:${CMAKE_CURRENT_SOURCE_DIR}>"
    "$<INSTALL_INTERFACE:${CMAKE_INSTALL_INCLUDEDIR}>")
  set_target_properties(${target} PROPERTIES EXPORT_NAME ${layer})
  add_library(ormo::${layer} ALIAS ${target})
  install(TARGETS ${target} EXPORT ormo-targets
    ARCHIVE DESTINATION "${CMAKE_INSTALL_LIBDIR}")
  install(DIRECTORY "${CMAKE_CURRENT_SOURCE_DIR}/ormo"
    DESTINATION "${CMAKE_INSTALL_INCLUDEDIR}"
    FILES_MATCHING PATTERN "*.hpp")
endfunction()
