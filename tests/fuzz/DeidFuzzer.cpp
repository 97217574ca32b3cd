// libFuzzer target: de-identification of one parsed file and writing it back, as `deid` and
// import do per file (standard profile, default options, burned-in text rules without OCR, so
// images that may hold text are quarantined rather than read). The parse itself is GDCM's.

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
    std::istringstream in(std::string(reinterpret_cast<const char*>(data), size));
    gdcm::Reader reader;
    reader.SetStream(in);
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
