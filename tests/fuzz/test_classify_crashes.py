#!/usr/bin/env python3
"""The crash classifier on fabricated reports shaped like libFuzzer/ASan/UBSan output (LLVM 14)."""

import os
import subprocess
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import classify_crashes  # noqa: E402

ROOT = "/src/radmark"

# SIGSEGV in OpenJPEG, reached through our pixel read: the library's crash.
OPENJPEG_SEGV = """\
==4711==ERROR: AddressSanitizer: SEGV on unknown address 0x000000000010 (pc 0x7f3c T0)
==4711==The signal is caused by a READ memory access.
    #0 0x7f3c2a1d3c1 in opj_t1_dec_clnpass (/lib/x86_64-linux-gnu/libopenjp2.so.7+0x2d3c1) (BuildId: 0a1b2c)
    #1 0x7f3c2a1e000 in opj_t1_clbl_decode_processor (/lib/x86_64-linux-gnu/libopenjp2.so.7+0x2e000)
    #2 0x7f3c2b000aa in gdcm::JPEG2000Codec::DecodeByStreamsCommon(char*, unsigned long) (/lib/x86_64-linux-gnu/libgdcmMSFF.so.3.0+0x1000aa)
    #3 0x7f3c2b000bb in gdcm::Bitmap::GetBuffer(char*) const (/lib/x86_64-linux-gnu/libgdcmMSFF.so.3.0+0x1000bb)
    #4 0x55d0000001 in radmark::imaging::dicom::(anonymous namespace)::decodeFile(radmark::imaging::DicomSeriesLayout const&, int) /src/radmark/imaging/DicomSeriesReader.cpp:865:15
    #5 0x55d0000002 in LLVMFuzzerTestOneInput /src/radmark/tests/fuzz/PixelDecodeFuzzer.cpp:22:41
    #6 0x55d0000003 in fuzzer::Fuzzer::ExecuteCallback(unsigned char const*, unsigned long) (/src/radmark/build-fuzz/tests/fuzz/fuzz_pixel_decode+0x1234)

AddressSanitizer can not provide additional info.
SUMMARY: AddressSanitizer: SEGV (/lib/x86_64-linux-gnu/libopenjp2.so.7+0x2d3c1) in opj_t1_dec_clnpass
"""

# A GDCM assertion (abort) under the deid harness's own gdcm::Reader call.
GDCM_ASSERT = """\
fuzz_deid: /build/gdcm-3.0.21/Source/DataStructureAndEncodingDefinition/gdcmFileMetaInformation.cxx:591: bool gdcm::FileMetaInformation::ReadCompat(std::istream&): Assertion `0' failed.
==12== ERROR: libFuzzer: deadly signal
    #0 0x55e5 in __sanitizer_print_stack_trace (/src/radmark/build-fuzz/tests/fuzz/fuzz_deid+0x1a5)
    #1 0x55e6 in fuzzer::PrintStackTrace() (/src/radmark/build-fuzz/tests/fuzz/fuzz_deid+0x1b6)
    #2 0x55e7 in fuzzer::Fuzzer::CrashCallback() (/src/radmark/build-fuzz/tests/fuzz/fuzz_deid+0x1c7)
    #3 0x7f10 (/lib/x86_64-linux-gnu/libc.so.6+0x3c04f)
    #4 0x7f11 in __pthread_kill_implementation nptl/./nptl/pthread_kill.c:44:76
    #5 0x7f12 in raise signal/../sysdeps/posix/raise.c:26:13
    #6 0x7f13 in abort stdlib/./stdlib/abort.c:79:7
    #7 0x7f14 (/lib/x86_64-linux-gnu/libc.so.6+0x2571a)
    #8 0x7f15 in __assert_fail assert/./assert/assert.c:101:3
    #9 0x7f16 in gdcm::FileMetaInformation::ReadCompat(std::istream&) (/lib/x86_64-linux-gnu/libgdcmDSED.so.3.0+0x15b000)
    #10 0x7f17 in gdcm::Reader::InternalReadCommon(gdcm::ReadSelectedTagsCaller const&) (/lib/x86_64-linux-gnu/libgdcmDSED.so.3.0+0x160000)
    #11 0x55f0 in LLVMFuzzerTestOneInput /src/radmark/tests/fuzz/DeidFuzzer.cpp:40:16
    #12 0x55f1 in fuzzer::Fuzzer::ExecuteCallback(unsigned char const*, unsigned long) (/src/radmark/build-fuzz/tests/fuzz/fuzz_deid+0x2000)
"""

# A heap overflow in our conversion loop (memcpy interceptor first): ours.
OUR_OVERFLOW = """\
==99==ERROR: AddressSanitizer: heap-buffer-overflow on address 0x6190 at pc 0x55 bp 0x7ff sp 0x7ff
WRITE of size 512 at 0x6190 thread T0
    #0 0x55a1 in __asan_memcpy (/src/radmark/build-fuzz/tests/fuzz/fuzz_pixel_decode+0x49b2f2)
    #1 0x55a2 in void radmark::imaging::dicom::(anonymous namespace)::convertGrey<short, short>(short const*, short*, unsigned long) /src/radmark/imaging/DicomSeriesReader.cpp:690:9
    #2 0x55a3 in LLVMFuzzerTestOneInput /src/radmark/tests/fuzz/PixelDecodeFuzzer.cpp:22:41

0x6190 is located 0 bytes to the right of 512-byte region [0x6180,0x6190)
allocated by thread T0 here:
    #0 0x55b1 in malloc (/src/radmark/build-fuzz/tests/fuzz/fuzz_pixel_decode+0x49c000)
    #1 0x7f20 in gdcm::Bitmap::GetBuffer(char*) const (/lib/x86_64-linux-gnu/libgdcmMSFF.so.3.0+0x1)
"""

# UBSan in our code, inlined std::vector access on top: ours (the caller decides).
OUR_UBSAN = """\
/usr/include/c++/12/bits/stl_vector.h:1123:2: runtime error: reference binding to null pointer of type 'int'
    #0 0x55c1 in std::vector<int, std::allocator<int> >::operator[](unsigned long) /usr/include/c++/12/bits/stl_vector.h:1123:2
    #1 0x55c2 in radmark::deid::FilePass::run() /src/radmark/imaging/deid/Deidentifier.cpp:412:5
    #2 0x55c3 in LLVMFuzzerTestOneInput /src/radmark/tests/fuzz/DeidFuzzer.cpp:44:40
"""

# A non-std exception rethrown by our reader reaches std::terminate: ours.
OUR_TERMINATE = """\
terminate called after throwing an instance of 'std::string'
==7== ERROR: libFuzzer: deadly signal
    #0 0x55e5 in __sanitizer_print_stack_trace (/src/radmark/build-fuzz/tests/fuzz/fuzz_pixel_decode+0x1a5)
    #1 0x55e6 in fuzzer::Fuzzer::CrashCallback() (/src/radmark/build-fuzz/tests/fuzz/fuzz_pixel_decode+0x1c7)
    #2 0x7f11 in raise signal/../sysdeps/posix/raise.c:26:13
    #3 0x7f12 in abort stdlib/./stdlib/abort.c:79:7
    #4 0x7f13 (/lib/x86_64-linux-gnu/libstdc++.so.6+0x9a0a4)
    #5 0x7f14 in std::terminate() (/lib/x86_64-linux-gnu/libstdc++.so.6+0xa6b2a)
    #6 0x7f15 in std::rethrow_exception(std::__exception_ptr::exception_ptr) (/lib/x86_64-linux-gnu/libstdc++.so.6+0xa6f0b)
    #7 0x55f1 in radmark::imaging::dicom::readSeries(radmark::imaging::SeriesSummary const&, std::function<bool (double)> const&, radmark::imaging::ReadReport*) /src/radmark/imaging/DicomSeriesReader.cpp:1112:9
"""


class ClassifierTest(unittest.TestCase):
    def test_openjpeg_segv_through_our_reader_is_the_library(self):
        kind, site = classify_crashes.classify(OPENJPEG_SEGV, ROOT)
        self.assertEqual(kind, "library")
        self.assertIn("opj_t1_dec_clnpass", site)

    def test_gdcm_assertion_is_the_library(self):
        kind, site = classify_crashes.classify(GDCM_ASSERT, ROOT)
        self.assertEqual(kind, "library")
        self.assertIn("gdcm::FileMetaInformation::ReadCompat", site)

    def test_overflow_in_our_loop_is_ours_and_the_allocation_stack_does_not_count(self):
        kind, site = classify_crashes.classify(OUR_OVERFLOW, ROOT)
        self.assertEqual(kind, "ours")
        self.assertIn("DicomSeriesReader.cpp", site)

    def test_ubsan_under_an_inlined_std_header_is_ours(self):
        kind, site = classify_crashes.classify(OUR_UBSAN, ROOT)
        self.assertEqual(kind, "ours")
        self.assertIn("Deidentifier.cpp", site)

    def test_terminate_from_our_rethrow_is_ours(self):
        kind, site = classify_crashes.classify(OUR_TERMINATE, ROOT)
        self.assertEqual(kind, "ours")
        self.assertIn("readSeries", site)

    def test_process_over_the_memory_limit_has_no_crash_site(self):
        report = ("==5== ERROR: libFuzzer: out-of-memory (used: 2197Mb; limit: 2048Mb)\n"
                  "Live Heap Allocations: 2164273405 bytes in 9 chunks\n"
                  "    #0 0x55 in operator new(unsigned long) (/x/fuzz_deid+0x194a2d)\n"
                  "    #1 0x55 in fuzzer::FuzzerDriver(int*, char***) (/x/fuzz_deid+0xac76d)\n"
                  "    #2 0x55 in main (/x/fuzz_deid+0xd6ef2)\n")
        self.assertEqual(classify_crashes.classify(report, ROOT, "/x/fuzz_deid")[0], "memory")

    def test_report_without_a_stack_counts_as_ours(self):
        self.assertEqual(classify_crashes.classify("==1== ERROR: libFuzzer: timeout\n", ROOT)[0],
                         "ours")

    def test_command_line_fails_on_ours_and_passes_on_library_only(self):
        script = os.path.join(os.path.dirname(os.path.abspath(__file__)), "classify_crashes.py")
        with tempfile.TemporaryDirectory() as work:
            reports = {}
            for name, text in (("lib1", OPENJPEG_SEGV), ("lib2", GDCM_ASSERT),
                               ("ours", OUR_OVERFLOW)):
                reports[name] = os.path.join(work, name)
                with open(reports[name], "w") as f:
                    f.write(text)
            library_only = subprocess.run(
                [sys.executable, script, "--source-root", ROOT, "--report", reports["lib1"],
                 reports["lib2"]], capture_output=True, text=True)
            self.assertEqual(library_only.returncode, 0, library_only.stdout)
            self.assertIn("crashes: ours 0, library 2 (2 distinct sites)", library_only.stdout)
            with_ours = subprocess.run(
                [sys.executable, script, "--source-root", ROOT, "--report", reports["lib1"],
                 reports["ours"]], capture_output=True, text=True)
            self.assertEqual(with_ours.returncode, 1, with_ours.stdout)
            self.assertIn("crashes: ours 1, library 1", with_ours.stdout)

    def test_run_each_runs_all_inputs_in_one_process_and_starts_again_after_a_crash(self):
        # A stand-in for a libFuzzer target run on files: "Running: F" per input, a GDCM-like
        # report and exit 1 on an input holding "crash", a line per process in a log.
        with tempfile.TemporaryDirectory() as work:
            target = os.path.join(work, "fake_fuzzer")
            log = os.path.join(work, "processes")
            with open(target, "w") as f:
                f.write(f"""#!{sys.executable}
import sys
open({log!r}, "a").write("process\\n")
for path in [a for a in sys.argv[1:] if not a.startswith("-")]:
    print("Running: " + path, flush=True)
    if "crash" in open(path).read():
        sys.stdout.write({GDCM_ASSERT!r})
        sys.exit(1)
    print("Executed " + path + " in 1 ms", flush=True)
""")
            os.chmod(target, 0o755)
            inputs = []
            for i, text in enumerate(["ok", "crash", "ok", "ok", "crash", "ok"]):
                inputs.append(os.path.join(work, f"input-{i}"))
                with open(inputs[-1], "w") as f:
                    f.write(text)
            crashed = list(classify_crashes.run_each(target, inputs))
            self.assertEqual([path for path, _ in crashed], [inputs[1], inputs[4]])
            self.assertEqual(classify_crashes.classify(crashed[0][1], ROOT)[0], "library")
            with open(log) as f:
                self.assertEqual(len(f.readlines()), 3)  # not one per input


if __name__ == "__main__":
    unittest.main()
