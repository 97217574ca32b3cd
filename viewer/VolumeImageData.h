#pragma once
// Wraps an imaging::Volume as vtkImageData without copying voxels (VTK external array).
// The Volume must outlive the returned image.

#include "imaging/Volume.h"

#include <vtkSmartPointer.h>

class vtkImageData;

namespace radmark::viewer {

vtkSmartPointer<vtkImageData> wrapVolume(imaging::Volume& volume);

} // namespace radmark::viewer
