// radmark-cli bench deface PATH [--repeat N]: how long defacing one head volume takes (the face
// search and the removal, deid::deface, as on import), and how many voxels it removes. The
// volume is read in the isolated decoder, as import reads it; defacing works on its voxels here.

#include "app/cli/Command.h"
#include "imaging/StudyReader.h"
#include "imaging/decoder/IsolatedDecoder.h"
#include "imaging/deid/Defacing.h"

#include <algorithm>
#include <chrono>
#include <iomanip>
#include <ostream>
#include <vector>

namespace radmark::cli {
namespace {

int runBenchDeface(Arguments& args, CommandIo& io) {
    decoder::prestartDecoder(); // its zygote starts while this command gets ready
    args.allowOnly({"repeat"});
    if (args.positionals().size() != 1)
        throw CommandError("give one head volume (DICOM series, NIfTI, NRRD or MetaImage)");
    int repeat = 0;
    try {
        repeat = std::stoi(args.option("repeat").value_or("3"));
    } catch (const std::exception&) {
    }
    if (repeat < 1)
        throw CommandError("--repeat must be at least 1");
    imaging::Volume original;
    try {
        decoder::IsolatedDecoder decoder;
        original = decoder.readVolume(args.positionals().front());
    } catch (const std::exception& error) {
        throw CommandError(error.what());
    }
    std::vector<double> seconds;
    deid::DefacingResult result;
    for (int i = 0; i < repeat; ++i) {
        imaging::Volume volume(original.geometry(), original.pixelType());
        std::copy_n(original.data(), original.byteCount(), volume.data());
        volume.modality = original.modality;
        const auto start = std::chrono::steady_clock::now();
        try {
            result = deid::deface(volume);
        } catch (const deid::DefacingError& error) {
            throw CommandError(error.what());
        }
        seconds.push_back(
            std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
    }
    std::sort(seconds.begin(), seconds.end());
    const auto& dims = original.geometry().dims;
    io.out << std::fixed << std::setprecision(3) << "deface " << dims[0] << "x" << dims[1] << "x"
           << dims[2] << " (" << original.voxelCount() << " voxels), " << repeat << " run(s): min "
           << seconds.front() << " s, median " << seconds[seconds.size() / 2] << " s; removed "
           << result.removedVoxels << " voxels (" << result.headVoxelsRemoved
           << " of the head), face region " << result.regionVoxels << " voxels\n"
           << result.method() << "\n";
    return 0;
}

} // namespace
RADMARK_COMMAND("bench deface", "PATH [--repeat N]  time defacing one head volume", runBenchDeface);
} // namespace radmark::cli
