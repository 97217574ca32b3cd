#pragma once
// Defacing of head CT and MR volumes: the face (nose, lips, chin, front of the eyes) is set to
// air so that a 3D rendering cannot be recognised, while the brain is left untouched.
//
// Method ("face plane", works in patient LPS millimetres, so any voxel order or flip is fine):
//  1. Head mask: CT voxels above -500 HU, other images above the Otsu threshold of the value
//     histogram; only the largest 6-connected component is kept (table, headrest and noise go).
//  2. Sagittal silhouette: the head mask projected onto the anterior-superior plane, in 1 mm rows.
//     The vertex (top of the head) must lie inside the image: a head cut off at the top, or a body
//     reaching the top slice, is refused. From the rows 30 to 95 mm below the vertex (the cranial
//     vault) come the head length L (front to back) and width, which must be those of a head, and
//     the forehead's most anterior point F.
//  3. Face region, by head proportions: a line in the sagittal plane from U = (F, vertex - 0.59 L),
//     about the nasion's height on the face's surface, backward and down to B = (F - 0.36 L,
//     vertex - 0.84 L), in front of the brain stem. Every voxel anterior of that line between the
//     two heights, and every voxel anterior of B below it, becomes air, whatever its left-right
//     position. The brain lies behind and above the line: on the MNI head MRI (ch2) its nearest
//     voxel is about 10 mm away.
//     Below the vault, anything more than 5 mm in front of the forehead goes too: a nose or chin
//     that a raised chin lifts above the line (the brain never lies in front of the forehead).
//  4. A head without at least 20 ml of tissue in that region has no face in the image: refused.
// Air is -1024 HU for CT (clamped to the voxel type) and the image's minimum otherwise.
// The proportions assume the usual head position. On the synthetic head CT of the tests, the brain
// stays untouched from 15 degrees chin-up to 20 degrees chin-down. The nose is fully removed down
// to 5 degrees chin-up, 96% of it at 10 degrees, and little at 15 degrees.

#include "imaging/StudyReader.h"
#include "imaging/Volume.h"

#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

namespace gdcm {
class DataSet;
}

namespace radmark::deid {

// The volume is not a head, or the face cannot be located: the message says why, for the user.
class DefacingError : public std::runtime_error {
  public:
    using std::runtime_error::runtime_error;
};

// Where the face was found, in LPS millimetres (anterior = -y, superior = +z).
struct FacePlane {
    double vertexHeight = 0;  // superior coordinate of the top of the head
    double headLength = 0;    // front to back, cranial vault (L)
    double headWidth = 0;     // left to right, cranial vault
    double upperAnterior = 0; // U: anterior coordinate (-y) of the line's upper end
    double upperHeight = 0;   // U: superior coordinate
    double lowerAnterior = 0; // B
    double lowerHeight = 0;
    double headThreshold = 0; // value separating head from air

    // True when a point (LPS mm) lies in the face region that defacing removes.
    bool removes(const imaging::Vec3& lps) const;
};

struct DefacingResult {
    FacePlane plane;
    double background = 0;             // the value removed voxels were given
    std::size_t regionVoxels = 0;      // voxels in the face region
    std::size_t removedVoxels = 0;     // voxels whose value changed
    std::size_t headVoxelsRemoved = 0; // of them, voxels of the head mask
    std::string method() const;        // one line for the de-identification report
};

// Finds the face of a head volume; throws DefacingError when the volume is not a head, the top
// of the head is cut off or there is no face in the image.
FacePlane locateFace(const imaging::Volume& volume);

// One byte per voxel, 1 in the face region: for writers that clean the pixels of each slice.
std::vector<std::uint8_t> faceRegionMask(const imaging::Geometry& geometry, const FacePlane& plane);

// The value that stands for air in this volume (-1024 HU for CT, the minimum otherwise).
double airValue(const imaging::Volume& volume);

// Locates the face and sets it to air in place. Throws DefacingError (volume unchanged).
DefacingResult deface(imaging::Volume& volume);

// Records defacing in a de-identified DICOM header: (0028,0302) Recognizable Visual Features NO
// and DCM 113102 "Clean Recognizable Visual Features Option" added to (0012,0064).
void recordDefacing(gdcm::DataSet& header);

struct DicomSeriesDefacing {
    DefacingResult volume;         // the face found in the series' volume
    std::size_t changedPixels = 0; // stored pixels rewritten in the files
    int files = 0;
};

// Defaces the DICOM files of one CT/MR series in place: the series is read as a volume, its face
// located, and in every file the pixels of the face region get the stored value of air
// ((air - intercept) / slope) and recordDefacing marks the header. Only
// uncompressed little-endian single-frame files can be rewritten. Every file is cleaned into a
// temporary file beside it first (".defacing-NAME"); the originals are replaced only when all
// were cleaned. Throws DefacingError (no file changed) when the face cannot be found or a file
// cannot be cleaned. If replacing the originals fails partway, it throws DefacingError with some
// files defaced and others not: the caller must discard the whole series (the CLI stages studies
// in a private folder and removes it).
DicomSeriesDefacing defaceDicomSeries(const imaging::SeriesSummary& series);

} // namespace radmark::deid
