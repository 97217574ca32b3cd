#pragma once
// The names a Radmark bundle is made of: the BagIt files (RFC 8493), the tag files the bundle
// library writes itself, and the bag-info.txt fields the export fills and `bundle verify` shows.
// docs/export.md draws the whole layout.

namespace radmark::bundle::layout {

inline constexpr const char* payloadFolder = "data";
inline constexpr const char* bagitFile = "bagit.txt";
inline constexpr const char* bagInfoFile = "bag-info.txt";
inline constexpr const char* manifestFile = "manifest-sha256.txt";
inline constexpr const char* tagManifestFile = "tagmanifest-sha256.txt";
// minisign's detached signature of tagmanifest-sha256.txt (the one file no manifest lists).
inline constexpr const char* signatureFile = "tagmanifest-sha256.txt.minisig";
// The signer's public key in minisign's format (listed in the tag manifest).
inline constexpr const char* publicKeyFile = "signing-key.pub";
// The latest signed audit checkpoint (storage::Checkpoint::toJson), signed by the same key.
inline constexpr const char* checkpointFile = "audit-checkpoint.json";

// bag-info.txt fields beyond the RFC's, given by the export.
inline constexpr const char* datasetField = "Radmark-Dataset";
inline constexpr const char* revisionField = "Radmark-Dataset-Revision";
inline constexpr const char* parentRevisionField = "Radmark-Dataset-Parent-Revision";
inline constexpr const char* formatsField = "Radmark-Formats";

} // namespace radmark::bundle::layout
