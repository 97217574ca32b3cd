# Every third-party package Radmark uses, found once. Debian bookworm packages only
# (installed by scripts/setup).

# Qt 6 widgets; VTK is hosted in our own QOpenGLWidget (never VTK::GUISupportQt,
# which Debian builds for Qt 5).
find_package(Qt6 6.4 REQUIRED COMPONENTS Core Gui Widgets OpenGL OpenGLWidgets Test)

# Explicit components: a bare find_package(VTK) looks for Qt5 and fails.
find_package(VTK 9.1 REQUIRED COMPONENTS
  CommonCore CommonDataModel CommonMath CommonTransforms CommonExecutionModel
  RenderingCore RenderingOpenGL2 RenderingVolume RenderingVolumeOpenGL2
  RenderingAnnotation RenderingFreeType RenderingLOD
  RenderingImage # vtkImageStack: the label overlay layered above the image
  InteractionStyle InteractionWidgets
  ImagingCore ImagingColor ImagingGeneral ImagingStencil
  FiltersCore FiltersGeneral FiltersModeling FiltersGeometry FiltersSources
  IOImage)

find_package(ITK 5.2 REQUIRED COMPONENTS
  ITKCommon ITKIOImageBase ITKIONIFTI ITKIONRRD ITKIOMeta
  ITKImageFunction ITKImageGrid ITKImageIntensity ITKThresholding
  ITKRegionGrowing ITKMathematicalMorphology ITKBinaryMathematicalMorphology
  ITKConnectedComponents ITKLabelMap ITKDistanceMap ITKSmoothing ITKImageFilterBase)

find_package(GDCM 3.0 REQUIRED)

find_package(PkgConfig REQUIRED)
pkg_check_modules(SQLCIPHER REQUIRED IMPORTED_TARGET sqlcipher)
pkg_check_modules(SODIUM REQUIRED IMPORTED_TARGET libsodium)
pkg_check_modules(ZSTD REQUIRED IMPORTED_TARGET libzstd)
# Export's .nii.gz: whole-buffer deflate, several times zlib's speed at the same size.
pkg_check_modules(DEFLATE REQUIRED IMPORTED_TARGET libdeflate)

find_package(GTest REQUIRED)
find_package(benchmark REQUIRED)
find_package(Threads REQUIRED)

# JSON for policy files, reports, manifests (header-only).
find_package(nlohmann_json 3.11 REQUIRED)

# bundle/: SHA-256 through libcrypto (SHA extensions: ~5x libsodium's, ~3x sha256sum here);
# zlib reads the gzip'd NIfTI headers a bundle check needs.
find_package(OpenSSL 3 REQUIRED COMPONENTS Crypto)
find_package(ZLIB REQUIRED)
