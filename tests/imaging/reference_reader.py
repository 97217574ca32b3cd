#!/usr/bin/python3
"""Independent reference for the imaging tests: pydicom and nibabel read the same files, and
synthetic DICOM fixtures are generated here (no patient data; everything is made up).

    reference_reader.py dicom FILE            -> JSON: geometry and every rescaled pixel value
    reference_reader.py nifti FILE I,J,K ...  -> JSON: RAS affine and the values at those voxels
    reference_reader.py fixtures OUTDIR       -> writes the synthetic series the tests read

Run with Debian's /usr/bin/python3 (python3-pydicom, python3-nibabel, python3-numpy).
"""
import json
import os
import random
import sys
import warnings

import numpy as np

warnings.simplefilter("ignore")


def dicom_reference(path):
    import pydicom
    from pydicom.pixel_data_handlers.util import apply_modality_lut

    ds = pydicom.dcmread(path)
    pixels = ds.pixel_array
    frames = int(ds.get("NumberOfFrames", 1) or 1)
    samples = int(ds.get("SamplesPerPixel", 1))
    if samples == 3:
        if str(ds.PhotometricInterpretation).startswith("YBR"):
            from pydicom.pixel_data_handlers.util import convert_color_space
            pixels = convert_color_space(pixels, ds.PhotometricInterpretation, "RGB")
        rgb = pixels.astype(np.float64)
        values = np.floor(0.299 * rgb[..., 0] + 0.587 * rgb[..., 1] + 0.114 * rgb[..., 2] + 0.5)
    else:
        values = apply_modality_lut(pixels, ds).astype(np.float64)
    values = values.reshape(frames, int(ds.Rows), int(ds.Columns))
    return {
        "rows": int(ds.Rows),
        "columns": int(ds.Columns),
        "frames": frames,
        "position": [float(v) for v in ds.get("ImagePositionPatient", [])],
        "orientation": [float(v) for v in ds.get("ImageOrientationPatient", [])],
        "spacing": [float(v) for v in ds.get("PixelSpacing", [])],
        "values": values.ravel().tolist(),
    }


def nifti_reference(path, points):
    import nibabel

    image = nibabel.load(path)
    data = np.asanyarray(image.dataobj)
    if data.ndim == 4:
        data = data[..., 0]
    values = [float(data[i, j, k]) for i, j, k in points]
    return {"affine": image.affine.tolist(), "values": values}


def new_ct_dataset(sop_class):
    """An explicit VR little endian CT dataset of sop_class with its file meta and a new UID."""
    from pydicom.dataset import Dataset, FileMetaDataset
    from pydicom.uid import ExplicitVRLittleEndian, generate_uid

    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = sop_class
    meta.MediaStorageSOPInstanceUID = generate_uid()
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds = Dataset()
    ds.file_meta = meta
    ds.is_little_endian = True
    ds.is_implicit_VR = False
    ds.SOPClassUID = meta.MediaStorageSOPClassUID
    ds.SOPInstanceUID = meta.MediaStorageSOPInstanceUID
    ds.Modality = "CT"
    return ds


def write_slice(path, uid, study, position, orientation, spacing, pixels, instance, intercept=-1024,
                slope=1, bits_stored=12):
    ds = new_ct_dataset("1.2.840.10008.5.1.4.1.1.2")
    ds.PatientName = "Synthetic^Phantom"
    ds.StudyInstanceUID = study
    ds.SeriesInstanceUID = uid
    ds.SeriesDescription = "synthetic"
    ds.InstanceNumber = instance
    ds.ImagePositionPatient = [f"{v:.4f}" for v in position]
    ds.ImageOrientationPatient = [f"{v:.6f}" for v in orientation]
    ds.PixelSpacing = [f"{spacing[0]:.4f}", f"{spacing[1]:.4f}"]
    ds.SliceThickness = "9.0"  # deliberately wrong: spacing must come from positions
    ds.Rows, ds.Columns = pixels.shape
    ds.SamplesPerPixel = 1
    ds.PhotometricInterpretation = "MONOCHROME2"
    ds.BitsAllocated = 16
    ds.BitsStored = bits_stored
    ds.HighBit = bits_stored - 1
    ds.PixelRepresentation = 0
    ds.RescaleIntercept = str(intercept)
    ds.RescaleSlope = str(slope)
    ds.PixelData = pixels.astype("<u2").tobytes()
    ds.save_as(path, write_like_original=False)


def stored_pattern(rows, columns, z):
    y, x = np.mgrid[0:rows, 0:columns]
    return (x + 20 * y + 300 * z).astype(np.uint16)


def write_series(folder, positions_z, rows=10, columns=12, uid=None, seed=1,
                 orientation=(1, 0, 0, 0, 1, 0), spacing=(0.8, 0.6), origin=(-10.0, -20.0)):
    from pydicom.uid import generate_uid

    os.makedirs(folder, exist_ok=True)
    rng = random.Random(seed)
    uid = uid or generate_uid()
    study = generate_uid()
    order = list(range(len(positions_z)))
    rng.shuffle(order)  # file names and instance numbers do not follow positions
    row = np.array(orientation[:3], float)
    col = np.array(orientation[3:], float)
    normal = np.cross(row, col)
    for instance, k in enumerate(order, start=1):
        position = np.array([origin[0], origin[1], 0.0]) + positions_z[k] * normal
        write_slice(os.path.join(folder, f"IMG{rng.randrange(10**8):08d}"), uid, study,
                    position, orientation, spacing, stored_pattern(rows, columns, k), instance)
    return uid


def write_enhanced(path):
    """Enhanced CT, 4 frames stored in reverse slice order, per-frame rescale intercepts."""
    from pydicom.dataset import Dataset
    from pydicom.sequence import Sequence
    from pydicom.uid import generate_uid

    ds = new_ct_dataset("1.2.840.10008.5.1.4.1.1.2.1")
    ds.SeriesInstanceUID = generate_uid()
    ds.StudyInstanceUID = generate_uid()
    ds.Rows, ds.Columns = 6, 5
    ds.NumberOfFrames = 4
    ds.SamplesPerPixel = 1
    ds.PhotometricInterpretation = "MONOCHROME2"
    ds.BitsAllocated = 16
    ds.BitsStored = 16
    ds.HighBit = 15
    ds.PixelRepresentation = 1
    shared = Dataset()
    measures = Dataset()
    measures.PixelSpacing = ["0.5", "0.25"]
    measures.SliceThickness = "7"
    shared.PixelMeasuresSequence = Sequence([measures])
    orientation = Dataset()
    orientation.ImageOrientationPatient = ["1", "0", "0", "0", "1", "0"]
    shared.PlaneOrientationSequence = Sequence([orientation])
    ds.SharedFunctionalGroupsSequence = Sequence([shared])
    per_frame = []
    frames = []
    for f in range(4):
        z = 3 - f  # frame 0 is the top slice
        item = Dataset()
        position = Dataset()
        position.ImagePositionPatient = ["1", "2", f"{10 + 1.5 * z}"]
        item.PlanePositionSequence = Sequence([position])
        transform = Dataset()
        transform.RescaleIntercept = str(-100 * f)
        transform.RescaleSlope = "1"
        transform.RescaleType = "HU"
        item.PixelValueTransformationSequence = Sequence([transform])
        per_frame.append(item)
        frames.append((np.arange(30).reshape(6, 5) + 1000 * z + 100 * f).astype("<i2"))
    ds.PerFrameFunctionalGroupsSequence = Sequence(per_frame)
    ds.PixelData = b"".join(frame.tobytes() for frame in frames)
    ds.save_as(path, write_like_original=False)


def write_fixtures(out):
    import pydicom

    os.makedirs(out, exist_ok=True)
    write_series(os.path.join(out, "uniform"), [2.5 * k for k in range(6)])
    write_series(os.path.join(out, "missing"), [2.5 * k for k in (0, 1, 2, 4, 5, 6)], seed=2)
    write_series(os.path.join(out, "nonuniform"), [0, 2, 4, 7, 9, 11], seed=3)
    # Coronal slices: rows run head to foot, slices stacked along -P (anterior).
    write_series(os.path.join(out, "coronal"), [3.0 * k for k in range(4)], seed=4,
                 orientation=(1, 0, 0, 0, 0, -1))
    uid = write_series(os.path.join(out, "mixed"), [2.0 * k for k in range(4)], seed=5)
    write_series(os.path.join(out, "mixed"), [2.0 * k for k in range(2)], rows=8, columns=8,
                 uid=uid, seed=6)
    # Fractional rescale: values become float32 (stored 0..11 -> 0.25 + 0.5 * stored).
    from pydicom.uid import generate_uid
    os.makedirs(os.path.join(out, "fractional"), exist_ok=True)
    uid, study = generate_uid(), generate_uid()
    for z in range(2):
        pixels = (np.arange(12).reshape(3, 4) + 12 * z).astype(np.uint16)
        write_slice(os.path.join(out, "fractional", f"F{z}"), uid, study, (0, 0, 2.0 * z),
                    (1, 0, 0, 0, 1, 0), (1, 1), pixels, z + 1, intercept=0.25, slope=0.5)
    # CT with 16 bits stored unsigned: HU stay int16; a value beyond it is clamped and reported.
    os.makedirs(os.path.join(out, "ct16"), exist_ok=True)
    uid, study = generate_uid(), generate_uid()
    for z in range(2):
        pixels = np.full((3, 4), 1024 + 40 * z, dtype=np.uint16)
        pixels[0, 0] = 60000
        write_slice(os.path.join(out, "ct16", f"C{z}"), uid, study, (0, 0, 1.0 * z),
                    (1, 0, 0, 0, 1, 0), (1, 1), pixels, z + 1, bits_stored=16)
    os.makedirs(os.path.join(out, "enhanced"), exist_ok=True)
    write_enhanced(os.path.join(out, "enhanced", "enhanced_ct.dcm"))
    os.makedirs(os.path.join(out, "empty"), exist_ok=True)
    with open(os.path.join(out, "not_dicom.dcm"), "w") as f:
        f.write("this is a text file, not an image\n" * 20)
    # A syntax nobody here decodes (MPEG2), with raw bytes inside.
    source = os.path.join(os.path.dirname(pydicom.__file__), "data", "test_files", "MR_small.dcm")
    from pydicom.encaps import encapsulate

    ds = pydicom.dcmread(source)
    ds.file_meta.TransferSyntaxUID = "1.2.840.10008.1.2.4.100"
    ds.PixelData = encapsulate([ds.PixelData])
    ds.save_as(os.path.join(out, "mpeg2.dcm"))


def main():
    command = sys.argv[1]
    if command == "dicom":
        print(json.dumps(dicom_reference(sys.argv[2])))
    elif command == "nifti":
        points = [tuple(int(v) for v in p.split(",")) for p in sys.argv[3:]]
        print(json.dumps(nifti_reference(sys.argv[2], points)))
    elif command == "fixtures":
        write_fixtures(sys.argv[2])
    else:
        sys.exit(f"unknown command {command}")


if __name__ == "__main__":
    main()
