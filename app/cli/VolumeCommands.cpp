// radmark-cli volume digest --study S [--via SOCKET] [--user U] [--password-stdin]
// The study's volume as a front end gets it (StoreAccess): in-process on the store, or with
// --via through radmarkd, the voxels arriving as a sealed memfd. Prints its grid, pixel type and
// the SHA-256 of its voxels, so that the two reads can be compared voxel for voxel (an auditor,
// a test) without writing any voxel anywhere.

#include "app/cli/Command.h"
#include "app/cli/StoreAccessArguments.h"
#include "app/cli/StoreSession.h"

#include <sodium.h>

#include <cstdio>
#include <ostream>

namespace radmark::cli {
namespace {

int runVolumeDigest(Arguments& args, CommandIo& io) {
    declareStoreFlags(args);
    args.allowOnly(storeAccessOptions({"study"}));
    const std::string study = args.required("study");
    const std::unique_ptr<StoreAccess> access = storeAccessFromArguments(args, io);
    const imaging::Volume volume = access->openVolume(study);
    unsigned char digest[crypto_hash_sha256_BYTES];
    crypto_hash_sha256(digest, reinterpret_cast<const unsigned char*>(volume.data()),
                       volume.byteCount());
    const auto& d = volume.geometry().dims;
    io.out << d[0] << "x" << d[1] << "x" << d[2] << " "
           << imaging::pixelTypeName(volume.pixelType()) << " sha256 ";
    for (unsigned char b : digest) {
        char hex[3];
        std::snprintf(hex, sizeof hex, "%02x", b);
        io.out << hex;
    }
    io.out << "\n";
    return 0;
}

} // namespace
RADMARK_COMMAND("volume digest",
                "--study S [--via SOCKET] [--user U]  grid, pixel type and SHA-256 of the study's "
                "voxels, read in-process or (--via) through radmarkd as a sealed memfd",
                runVolumeDigest);
} // namespace radmark::cli
