#include "viewer/VolumeImageData.h"

#include <vtkFloatArray.h>
#include <vtkImageData.h>
#include <vtkIntArray.h>
#include <vtkMatrix3x3.h>
#include <vtkPointData.h>
#include <vtkShortArray.h>
#include <vtkUnsignedCharArray.h>
#include <vtkUnsignedShortArray.h>

namespace radmark::viewer {

namespace {
template <class ArrayT, class T>
vtkSmartPointer<vtkDataArray> externalArray(T* data, vtkIdType count) {
    auto array = vtkSmartPointer<ArrayT>::New();
    array->SetArray(data, count, /*save=*/1); // save=1: VTK never frees the Volume's buffer
    return array;
}
} // namespace

vtkSmartPointer<vtkImageData> wrapVolume(imaging::Volume& volume) {
    const auto& g = volume.geometry();
    auto image = vtkSmartPointer<vtkImageData>::New();
    image->SetDimensions(g.dims[0], g.dims[1], g.dims[2]);
    image->SetSpacing(g.spacing[0], g.spacing[1], g.spacing[2]);
    image->SetOrigin(g.origin[0], g.origin[1], g.origin[2]);
    image->SetDirectionMatrix(g.direction.data());
    const vtkIdType n = vtkIdType(volume.voxelCount());
    vtkSmartPointer<vtkDataArray> scalars;
    switch (volume.pixelType()) {
    case imaging::PixelType::UInt8:
        scalars = externalArray<vtkUnsignedCharArray>(volume.as<unsigned char>(), n);
        break;
    case imaging::PixelType::Int16:
        scalars = externalArray<vtkShortArray>(volume.as<short>(), n);
        break;
    case imaging::PixelType::UInt16:
        scalars = externalArray<vtkUnsignedShortArray>(volume.as<unsigned short>(), n);
        break;
    case imaging::PixelType::Int32:
        scalars = externalArray<vtkIntArray>(volume.as<int>(), n);
        break;
    case imaging::PixelType::Float32:
        scalars = externalArray<vtkFloatArray>(volume.as<float>(), n);
        break;
    }
    scalars->SetName("voxels");
    image->GetPointData()->SetScalars(scalars);
    return image;
}

} // namespace radmark::viewer
