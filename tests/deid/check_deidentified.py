#!/usr/bin/python3
"""Independent checks of `radmark-cli deid`, with pydicom (not GDCM, which Radmark uses).

    check_deidentified.py corpus  --cli RADMARK_CLI --work DIR SOURCE_DIR...
    check_deidentified.py series  --cli RADMARK_CLI --work DIR --generator GENERATE_CT_SERIES
    check_deidentified.py gdcmanon --cli RADMARK_CLI --work DIR SOURCE_DIR...
    check_deidentified.py pixels --cli RADMARK_CLI --work DIR SOURCE_DIR...

corpus: every DICOM file under the sources (those pydicom reads) is de-identified one by one;
  each output must hold none of its input's identifying values (names, IDs, dates, addresses,
  institution, physicians, accession, station, serials, instance UIDs, private strings) anywhere
  in its bytes, be readable again, and add no dciodvfy error to those of its input. Then the whole
  tree is de-identified twice with the same secret: both runs must be byte-identical.
series: two generated CT series of one patient, on two dates: UIDs consistent within each series
  and study, distinct across them, the interval between the study dates kept, nothing planted
  (top level, nested sequences, private sequence, UN) left.
gdcmanon: gdcmanon's basic profile (with a throw-away certificate) on the same files: lists what
  it leaves, and asserts Radmark leaves none of it.
pixels: every image of the sources that may hold burned-in text (ultrasound, secondary capture,
  BurnedInAnnotation=YES), de-identified with pixel cleaning on, one by one: those with a blackout
  rule come out cleaned (uncompressed, explicit VR little endian or their own uncompressed syntax,
  pixels readable by pydicom, the rule's band black in every frame, BurnedInAnnotation NO, code
  113101, a lossy source still marked lossy); the others are quarantined for the expected reason.
Exit status 0 when every check passes; failures are printed one per line.
"""
import argparse
import collections
import datetime
import glob
import hashlib
import os
import re
import shutil
import subprocess
import sys

import numpy
import pydicom
from pydicom.errors import InvalidDicomError

IDENTIFYING_KEYWORDS = {
    "PatientName", "PatientID", "OtherPatientIDs", "OtherPatientNames", "PatientBirthDate",
    "PatientBirthName", "PatientMotherBirthName", "PatientAddress", "PatientTelephoneNumbers",
    "MedicalRecordLocator", "IssuerOfPatientID", "AccessionNumber", "InstitutionName",
    "InstitutionAddress", "InstitutionalDepartmentName", "ReferringPhysicianName",
    "ReferringPhysicianAddress", "ReferringPhysicianTelephoneNumbers", "PerformingPhysicianName",
    "NameOfPhysiciansReadingStudy", "OperatorsName", "PhysiciansOfRecord", "RequestingPhysician",
    "ScheduledPerformingPhysicianName", "StationName", "DeviceSerialNumber", "StudyID",
    "AdmissionID", "PerformedStationName", "PerformedLocation", "ContentCreatorName",
    "VerifyingObserverName", "PersonName", "ResponsiblePerson", "ResponsibleOrganization",
    "PatientComments", "AdditionalPatientHistory", "Occupation",
}
WELL_KNOWN_UID = "1.2.840.10008."
VOCABULARY = {"CodeValue", "CodingSchemeDesignator", "CodeMeaning", "LongCodeValue", "Manufacturer",
              "ManufacturerModelName", "SoftwareVersions", "MappingResource"}
# Removed attributes whose value may equal a device name kept unchanged (an institution "TOSHIBA"
# beside the manufacturer "TOSHIBA_MEC"), and the device names that may hold it. Codes, code
# meanings and software versions never excuse a value.
ORGANISATION = {"InstitutionName", "InstitutionalDepartmentName", "StationName"}
DEVICE_NAMES = {"Manufacturer", "ManufacturerModelName", "SecondaryCaptureDeviceManufacturer",
                "SecondaryCaptureDeviceManufacturerModelName"}
CLASS_UID_KEYWORDS = {"SOPClassUID", "ReferencedSOPClassUID", "MediaStorageSOPClassUID",
                      "TransferSyntaxUID", "ImplementationClassUID", "CodingSchemeUID"}


def read(path):
    try:
        return pydicom.dcmread(path)
    except (InvalidDicomError, Exception):  # noqa: BLE001 - any file pydicom cannot read is skipped
        return None


def is_dicomdir(ds):
    meta = getattr(ds, "file_meta", None)
    return meta is not None and str(meta.get("MediaStorageSOPClassUID", "")) == "1.2.840.10008.1.3.10"


def text_of(value):
    if isinstance(value, (list, pydicom.multival.MultiValue)):
        return [str(v) for v in value]
    if isinstance(value, bytes):
        return [value.decode("latin-1", "replace")]
    return [str(value)]


def identifying_values(ds):
    """(value, why) pairs that must not survive, found anywhere in ds (sequences included)."""
    values = set()
    kept_public = []
    vocabulary = []
    for element in ds.iterall():
        keyword = element.keyword or ""
        if element.VR == "SQ" or element.tag == 0x7FE00010:
            continue
        for value in text_of(element.value):
            value = value.strip().strip("\x00").strip()
            if not value:
                continue
            if keyword in IDENTIFYING_KEYWORDS:
                if len(value) >= 4:
                    values.add((value, keyword))
                if element.VR == "PN":
                    for part in re.split(r"[\^= ]", value):
                        if len(part) >= 4:
                            values.add((part, keyword + " component"))
            elif element.VR == "DA" and re.fullmatch(r"\d{8}", value) and value != "19000101":
                values.add((value, "date " + keyword))
            elif element.VR == "UI" and keyword not in CLASS_UID_KEYWORDS and \
                    not value.startswith(WELL_KNOWN_UID) and len(value) >= 8:
                values.add((value, "UID " + keyword))
            elif element.tag.is_private and element.VR in ("LO", "SH", "PN", "LT", "ST", "UT"):
                if len(value) >= 6 and not re.fullmatch(r"[\d.\-+ eE\\]+", value):
                    values.add((value, "private " + str(element.tag)))
            elif not element.tag.is_private and element.VR in ("LO", "SH", "CS", "LT", "ST", "UT", "DS", "IS"):
                kept_public.append(value.upper())
                if element.VR in ("CS", "DS", "IS") or keyword in VOCABULARY:
                    vocabulary.append(value.upper())
    # A private string that also stands in a public attribute the profile keeps, or a part of a
    # name that is also a code or enumerated value (a coding scheme "TEST", a value type "TEXT"),
    # says nothing about the patient. Free text never counts as such vocabulary for names.
    def generic(v, why):
        if why.startswith("private"):
            return any(v.upper() in k for k in kept_public)
        if why.endswith("component"):
            return any(re.search(r"(?<![A-Z0-9])" + re.escape(v.upper()) + r"(?![A-Z0-9])", k)
                       for k in vocabulary)
        return False
    return {(v, why) for v, why in values if not generic(v, why)}


def kept_device_names(ds):
    """(keyword, value) of the device names of ds, upper case."""
    return {(e.keyword, v.strip().upper()) for e in ds.iterall()
            if e.keyword in DEVICE_NAMES and e.VR != "SQ" for v in text_of(e.value)}


def found_only_in_kept_device_names(output_path, value, vocabulary):
    """True when value stands in the output only in device names kept unchanged."""
    ds = read(output_path)
    if ds is None:
        return False
    needle = value.upper()
    for element in ds.iterall():
        if element.VR == "SQ" or element.tag == 0x7FE00010:
            continue
        for text in text_of(element.value):
            text = text.strip().upper()
            if needle in text and (element.keyword, text) not in vocabulary:
                return False
    return needle.encode("latin-1", "replace") not in b"".join(
        bytes(str(e.value), "latin-1", "replace").upper() for e in ds.file_meta)


def leaks(output_path, values, vocabulary=frozenset()):
    data = open(output_path, "rb").read().upper()
    found = []
    for value, why in values:
        if why in ORGANISATION and found_only_in_kept_device_names(output_path, value, vocabulary):
            continue
        needle = value.upper().encode("latin-1", "replace")
        if why.endswith("component"):
            if re.search(rb"(?<![A-Z0-9])" + re.escape(needle) + rb"(?![A-Z0-9])", data):
                found.append(why)
        elif needle in data:
            found.append(why)
    return found


def dciodvfy_errors(path):
    try:
        run = subprocess.run(["dciodvfy", "-new", path], capture_output=True, text=True,
                             errors="replace", timeout=60)
    except (OSError, subprocess.TimeoutExpired):
        return None
    errors = set()
    for line in (run.stdout + run.stderr).splitlines():
        if not line.startswith("Error"):
            continue
        line = re.sub(r"<[^>]*>", "<>", line)            # values
        line = re.sub(r"\[[^\]]*\]", "[]", line)         # item numbers
        line = re.sub(r"\d+(\.\d+)+", "N", line)          # UIDs, numbers
        errors.add(line)
    return errors


def run_cli(cli, sources, out, secret, options="default,no-clean-pixel-data"):
    return subprocess.run([cli, "deid", *sources, "--out", out, "--secret-file", secret,
                           "--options", options], capture_output=True, text=True)


def dicom_files(sources):
    for source in sources:
        for path in sorted(glob.glob(os.path.join(source, "**", "*"), recursive=True)):
            if os.path.isfile(path):
                ds = read(path)
                if ds is not None and not is_dicomdir(ds) and len(ds) > 0:
                    yield path, ds


def outputs_under(folder):
    return sorted(p for p in glob.glob(os.path.join(folder, "**", "*.dcm"), recursive=True))


def tree_digest(folder):
    digest = {}
    for path in sorted(glob.glob(os.path.join(folder, "**", "*"), recursive=True)):
        if os.path.isfile(path):
            digest[os.path.relpath(path, folder)] = hashlib.sha256(open(path, "rb").read()).hexdigest()
    return digest


def make_secret(work):
    secret = os.path.join(work, "secret")
    with open(secret, "wb") as out:
        out.write(hashlib.sha256(b"radmark deid test secret").digest())
    return secret


def check_corpus(args):
    failures = []
    secret = make_secret(args.work)
    checked = quarantined = 0
    new_errors_total = collections.Counter()
    for index, (path, ds) in enumerate(dicom_files(args.sources)):
        out = os.path.join(args.work, "one", str(index))
        run = run_cli(args.cli, [path], out, secret)
        produced = outputs_under(out)
        if run.returncode != 0:
            if "quarantined" in run.stderr and not produced:
                # Every complete object of the corpus de-identifies cleanly (an institution named
                # like the kept manufacturer, as in MR_small, is not a leak): a quarantine here is
                # a regression.
                quarantined += 1
                failures.append(f"{path}: quarantined: "
                                f"{run.stderr.strip().splitlines()[-1][:160]}")
                continue
            if produced:
                failures.append(f"{path}: exit {run.returncode} but files were written")
            else:
                print(f"not de-identified (not a complete object): {os.path.basename(path)}: "
                      f"{run.stderr.strip()[:160]}")
            continue
        if len(produced) != 1:
            failures.append(f"{path}: expected one output file, found {len(produced)}")
            continue
        checked += 1
        values = identifying_values(ds)
        left = leaks(produced[0], values, kept_device_names(ds))
        if left:
            failures.append(f"{path}: identifying values left: {sorted(set(left))}")
        again = read(produced[0])
        if again is None:
            failures.append(f"{path}: output not readable by pydicom")
            continue
        if str(again.get("PatientIdentityRemoved", "")) != "YES":
            failures.append(f"{path}: PatientIdentityRemoved is not YES")
        codes = [item.CodeValue for item in again.get("DeidentificationMethodCodeSequence", [])]
        if "113100" not in codes:
            failures.append(f"{path}: DeidentificationMethodCodeSequence lacks 113100")
        if "SOPInstanceUID" in again and again.file_meta.get("MediaStorageSOPInstanceUID") != again.SOPInstanceUID:
            failures.append(f"{path}: (0002,0003) not in step with (0008,0018)")
        for element in again.iterall():
            if element.tag.is_private:
                failures.append(f"{path}: private element {element.tag} left")
                break
        before, after = dciodvfy_errors(path), dciodvfy_errors(produced[0])
        # dciodvfy stops at a broken input ("tags out of order"): nothing to compare against.
        unverifiable = before is not None and any("out of order" in e for e in before)
        if before is not None and after is not None and not unverifiable:
            for error in sorted(after - before):
                new_errors_total[error] += 1
                failures.append(f"{path}: new dciodvfy error: {error}")
    print(f"corpus: {checked} files de-identified and checked, {quarantined} quarantined")
    if checked == 0:
        failures.append("no file was de-identified: nothing checked")

    # Determinism: the whole tree twice with the same secret.
    first, second = os.path.join(args.work, "run1"), os.path.join(args.work, "run2")
    run_cli(args.cli, args.sources, first, secret)
    run_cli(args.cli, args.sources, second, secret)
    a, b = tree_digest(first), tree_digest(second)
    if not a:
        failures.append("determinism: the tree run wrote nothing")
    elif a != b:
        failures.append(f"determinism: outputs differ ({len(set(a.items()) ^ set(b.items()))} entries)")
    else:
        print(f"determinism: {len(a)} output files byte-identical across two runs")
    return failures


def check_series(args):
    failures = []
    secret = make_secret(args.work)
    src_a, src_b = os.path.join(args.work, "a"), os.path.join(args.work, "b")
    for folder, seed, date in ((src_a, 11, "20240105"), (src_b, 12, "20240320")):
        subprocess.run([args.generator, "--out", folder, "--slices", "6", "--rows", "64",
                        "--cols", "64", "--seed", str(seed), "--study-date", date], check=True,
                       capture_output=True)
    out = os.path.join(args.work, "out")
    run = run_cli(args.cli, [src_a, src_b], out, secret, options="default")
    if run.returncode != 0:
        return [f"series: radmark-cli deid failed: {run.stderr.strip()}"]
    inputs = {p: read(p) for p in sorted(glob.glob(os.path.join(args.work, "[ab]", "*.dcm")))}
    outputs = [read(p) for p in outputs_under(out)]
    if len(outputs) != len(inputs):
        failures.append(f"series: {len(inputs)} inputs but {len(outputs)} outputs")
    by_study = collections.defaultdict(list)
    for ds in outputs:
        by_study[ds.StudyInstanceUID].append(ds)
    if len(by_study) != 2:
        failures.append(f"series: expected 2 studies, found {len(by_study)}")
    dates = []
    for study, files in by_study.items():
        for keyword in ("SeriesInstanceUID", "FrameOfReferenceUID", "StudyDate", "PatientID"):
            if len({str(getattr(ds, keyword, "")) for ds in files}) != 1:
                failures.append(f"series: {keyword} differs within one study")
        if len({ds.SOPInstanceUID for ds in files}) != len(files):
            failures.append("series: SOP Instance UIDs not distinct")
        if not study.startswith("2.25."):
            failures.append("series: study UID not remapped to 2.25.")
        referenced = {item.ReferencedSOPInstanceUID
                      for ds in files for item in ds.RequestAttributesSequence[0].get("ReferencedStudySequence", [])} \
            if "RequestAttributesSequence" in files[0] else set()
        if referenced - {study}:
            failures.append("series: a reference to the study was not remapped in step")
        dates.append(datetime.datetime.strptime(files[0].StudyDate, "%Y%m%d"))
    if len({ds.PatientID for ds in outputs}) != 1:
        failures.append("series: the patient pseudonym differs between the two studies")
    if len(dates) == 2:
        interval = abs((dates[0] - dates[1]).days)
        expected = (datetime.date(2024, 3, 20) - datetime.date(2024, 1, 5)).days
        if interval != expected:
            failures.append(f"series: interval between studies {interval} days, source {expected}")
        elif {d.strftime("%Y%m%d") for d in dates} & {"20240105", "20240320"}:
            failures.append("series: study dates were not shifted")
        else:
            print(f"series: interval of {interval} days kept, dates shifted")
    for path, ds in inputs.items():
        values = identifying_values(ds)
        for output in outputs_under(out):
            left = leaks(output, values)
            if left:
                failures.append(f"series: {output} keeps {sorted(set(left))}")
                break
    print(f"series: {len(outputs)} files in {len(by_study)} studies checked")
    return failures


def make_certificate(work):
    key, cert = os.path.join(work, "key.pem"), os.path.join(work, "cert.pem")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key,
                    "-out", cert, "-days", "1", "-subj", "/CN=radmark-test"], check=True,
                   capture_output=True)
    return cert


def check_gdcmanon(args):
    failures = []
    secret = make_secret(args.work)
    cert = make_certificate(args.work)
    left_by_gdcmanon = collections.Counter()
    compared = 0
    for index, (path, ds) in enumerate(dicom_files(args.sources)):
        values = identifying_values(ds)
        theirs = os.path.join(args.work, "gdcmanon", f"{index}.dcm")
        os.makedirs(os.path.dirname(theirs), exist_ok=True)
        run = subprocess.run(["gdcmanon", "-c", cert, "-e", "-i", path, "-o", theirs],
                             capture_output=True, text=True)
        if run.returncode != 0 or not os.path.exists(theirs):
            continue
        ours_dir = os.path.join(args.work, "radmark", str(index))
        run_cli(args.cli, [path], ours_dir, secret)
        ours = outputs_under(ours_dir)
        if not ours:
            continue  # quarantined or not an object: Radmark wrote nothing
        compared += 1
        vocabulary = kept_device_names(ds)
        their_left = set(leaks(theirs, values, vocabulary))
        our_left = set(leaks(ours[0], values, vocabulary))
        for why in their_left:
            left_by_gdcmanon[re.sub(r"\(.*", "", why).strip()] += 1
        if our_left:
            failures.append(f"{path}: Radmark leaves {sorted(our_left)}")
        if their_left:
            print(f"{os.path.basename(path)}: gdcmanon leaves {sorted(their_left)}; Radmark leaves none")
    print(f"gdcmanon comparison on {compared} files; what gdcmanon's basic profile leaves:")
    for why, count in left_by_gdcmanon.most_common():
        print(f"  {count:3d} x {why}")
    if compared == 0:
        failures.append("gdcmanon: nothing compared")
    elif not left_by_gdcmanon:
        failures.append("gdcmanon left nothing: the comparison shows nothing (check the inputs)")
    return failures


# What the pixel check expects of each burned-in text candidate of the pydicom test files: the
# rows that must be black (first row, row count) or the words of the quarantine reason. Written
# from looking at the images, independently of resources/deid/burned_in_text_rules.tsv.
TOP_BAND = {(60, 80): [(0, 5)], (1024, 256): [(0, 32), (992, 32)], (100, 100): [(0, 8)],
            (256, 256): [(0, 21)], (512, 512): [(0, 41)], (3, 3): []}
EXPECTED_QUARANTINE = {
    "GDCMJ2K_TextGBR.dcm": "no blackout rule",                  # a page of text, no device
    "JPEG2000-embedded-sequence-delimiter.dcm": "cannot be decoded",  # a broken codestream
    "SC_ybr_full_422_uncompressed.dcm": "pixel layout",          # subsampled, uncompressed
    # GDCM 3.0 decodes 16- and 32-bit RLE colour wrongly (gdcmconv --raw too; pydicom does not).
    "SC_rgb_rle_16bit.dcm": "pixel layout", "SC_rgb_rle_16bit_2frame.dcm": "pixel layout",
    "SC_rgb_rle_32bit.dcm": "pixel layout", "SC_rgb_rle_32bit_2frame.dcm": "pixel layout",
}
UNCOMPRESSED = {"1.2.840.10008.1.2", "1.2.840.10008.1.2.1", "1.2.840.10008.1.2.2",
                "1.2.840.10008.1.2.1.99"}
LOSSY = {"1.2.840.10008.1.2.4.50", "1.2.840.10008.1.2.4.51"}


def burned_in_text_candidate(ds):
    return (str(ds.get("Modality", "")) == "US" or
            str(ds.get("SOPClassUID", "")).startswith("1.2.840.10008.5.1.4.1.1.7") or
            str(ds.get("BurnedInAnnotation", "")).upper() == "YES") and "PixelData" in ds


def check_pixels(args):
    failures = []
    secret = make_secret(args.work)
    cleaned = quarantined = 0
    for index, (path, ds) in enumerate(dicom_files(args.sources)):
        if not burned_in_text_candidate(ds):
            continue
        name = os.path.basename(path)
        out = os.path.join(args.work, "pixels", str(index))
        run = run_cli(args.cli, [path], out, secret, options="default")
        produced = outputs_under(out)
        if name in EXPECTED_QUARANTINE:
            if run.returncode != 3 or produced or EXPECTED_QUARANTINE[name] not in run.stderr:
                failures.append(f"{name}: expected quarantine ({EXPECTED_QUARANTINE[name]}), "
                                f"got exit {run.returncode}: {run.stderr.strip()[-160:]}")
            else:
                quarantined += 1
            continue
        if run.returncode != 0 or len(produced) != 1:
            failures.append(f"{name}: not cleaned: {run.stderr.strip()[-200:]}")
            continue
        again = read(produced[0])
        source_syntax = str(ds.file_meta.TransferSyntaxUID)
        syntax = str(again.file_meta.TransferSyntaxUID)
        if syntax not in UNCOMPRESSED:
            failures.append(f"{name}: output still compressed ({syntax})")
            continue
        if source_syntax not in UNCOMPRESSED and syntax != "1.2.840.10008.1.2.1":
            failures.append(f"{name}: decoded pixels written as {syntax}")
        try:
            pixels = again.pixel_array
        except Exception as error:  # noqa: BLE001 - any decoding error is a failure
            failures.append(f"{name}: pydicom cannot read the cleaned pixels: {error}")
            continue
        frames = int(again.get("NumberOfFrames", 1) or 1)
        if frames == 1:
            pixels = pixels[None, ...]
        if pixels.ndim == 3:
            pixels = pixels[..., None]
        ybr = str(again.PhotometricInterpretation).startswith("YBR")
        for first, count in TOP_BAND.get((again.Rows, again.Columns), [(0, again.Rows)]):
            band = pixels[:, first:first + count]
            luminance_black = (band[..., 0] == 0).all()
            chroma_black = (band[..., 1:] == 128).all() if ybr else (band == 0).all()
            if not (luminance_black and chroma_black):
                failures.append(f"{name}: rows {first}-{first + count - 1} are not black")
        if not pixels.any():
            failures.append(f"{name}: the whole image is black")
        try:
            source_pixels = ds.pixel_array  # pydicom decodes uncompressed and RLE sources here
        except Exception:  # noqa: BLE001 - no pydicom decoder for this syntax: not compared
            source_pixels = None
        if source_pixels is not None and str(again.PhotometricInterpretation) == \
                str(ds.PhotometricInterpretation):
            keep = numpy.ones(pixels.shape[1], dtype=bool)
            for first, count in TOP_BAND.get((again.Rows, again.Columns), []):
                keep[first:first + count] = False
            if not (source_pixels.reshape(pixels.shape)[:, keep] == pixels[:, keep]).all():
                failures.append(f"{name}: pixels outside the blacked-out band changed")
        if str(again.get("BurnedInAnnotation", "")) != "NO":
            failures.append(f"{name}: BurnedInAnnotation is not NO")
        codes = [item.CodeValue for item in again.get("DeidentificationMethodCodeSequence", [])]
        if "113101" not in codes:
            failures.append(f"{name}: Clean Pixel Data Option (113101) not recorded")
        was_lossy = source_syntax in LOSSY or str(ds.get("LossyImageCompression", "")) == "01"
        if was_lossy and str(again.get("LossyImageCompression", "")) != "01":
            failures.append(f"{name}: a lossy image is no longer marked lossy")
        if not was_lossy and source_syntax in UNCOMPRESSED and \
                str(again.get("LossyImageCompression", "")) == "01":
            failures.append(f"{name}: an uncompressed image became marked lossy")
        cleaned += 1
        print(f"cleaned: {name} ({source_syntax} -> {syntax}, {again.PhotometricInterpretation})")
    print(f"pixels: {cleaned} images cleaned and checked, {quarantined} quarantined as expected")
    if cleaned == 0:
        failures.append("pixels: no image was cleaned")
    return failures


def main():
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("mode", choices=["corpus", "series", "gdcmanon", "pixels"])
    parser.add_argument("sources", nargs="*")
    parser.add_argument("--cli", required=True)
    parser.add_argument("--work", required=True)
    parser.add_argument("--generator")
    args = parser.parse_intermixed_args()
    shutil.rmtree(args.work, ignore_errors=True)
    os.makedirs(args.work)
    failures = {"corpus": check_corpus, "series": check_series, "gdcmanon": check_gdcmanon,
                "pixels": check_pixels}[args.mode](args)
    for failure in failures:
        print("FAIL:", failure)
    print(f"{'FAILED' if failures else 'OK'}: {len(failures)} failure(s)")
    shutil.rmtree(args.work, ignore_errors=True)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
