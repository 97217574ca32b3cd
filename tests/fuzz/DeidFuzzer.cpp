// libFuzzer target: de-identification of one parsed file and writing it back, as `deid` and
// import do per file (standard profile, default options, burned-in text rules without OCR, so
// images that may hold text are quarantined rather than read). The structure check comes first,
// as it does there; the parse itself is GDCM's.

#include "FuzzInput.h"
#include "imaging/DicomStructure.h"
#include "imaging/deid/Deidentifier.h"

#include <gdcmReader.h>
#include <gdcmTrace.h>
#include <gdcmWriter.h>

#include <exception>
#include <sstream>
#include <string>

namespace {

const radmark::deid::Deidentifier& engine() {
    static const radmark::deid::StoreSecret secret(std::array<std::uint8_t, 32>{1, 2, 3});
    static const radmark::deid::Deidentifier deidentifier(
        radmark::deid::ConfidentialityProfile::standard(),
        radmark::deid::ProfileOptions::defaults(), secret,
        &radmark::deid::BurnedInTextRules::standard(), nullptr);
    return deidentifier;
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    static const bool quiet = [] {
        gdcm::Trace::SetWarning(false);
        gdcm::Trace::SetError(false);
        gdcm::Trace::SetDebug(false);
        return true;
    }();
    (void)quiet;
    static radmark::fuzz::InputFile input;
    const std::filesystem::path& path = input.hold(data, size);
    if (radmark::imaging::dicomStructureProblem(path))
        return 0; // refused before GDCM reads it, as deid and import do
    gdcm::Reader reader;
    reader.SetFileName(path.c_str());
    if (!reader.Read())
        return 0;
    try {
        const auto result = engine().deidentify(reader.GetFile());
        if (result.quarantined)
            return 0;
        std::ostringstream out;
        gdcm::Writer writer;
        writer.SetFile(reader.GetFile());
        writer.SetStream(out);
        writer.Write();
    } catch (const std::exception&) {
    }
    return 0;
}
