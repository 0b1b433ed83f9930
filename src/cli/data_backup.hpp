// `zkpush backup` and `zkpush restore`: the whole data folder of `zkpush serve` in one file, taken
// while the server runs, and put back into a folder no server is using (docs/operations.md).
//
// The archive is a gzip-compressed tar (pax) of
//   data/zkpush.db          a consistent copy of the store (storage::copy_store_file: SQLite's online
//                           backup from one read snapshot, so uploads go on while it is taken)
//   data/<everything else>  the other files of the folder as they are (api-token with its 0600 mode,
//                           files/ of firmware and resources...), dot-names (uploads in progress,
//                           temporary files), the live database's -wal/-shm and zkpush.lock left out
//   manifest.json           last, since it holds what was written: format, zkpush version, schema
//                           version, time, and each file's size, mode and SHA-256
// Why tar.gz through libarchive: any tar can list or unpack it in an emergency, and libarchive is
// already a dependency (ACCOUNT packages). Restore does not let libarchive write to disk: it takes
// regular files and folders only, under data/, with no absolute path and no "..", and writes each
// itself below a staging folder.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>

namespace zkpush::cli {

struct BackupOptions {
  std::filesystem::path data_dir;
  std::filesystem::path file;
  bool force = false;  // replace an existing `file`
};

struct BackupSummary {
  int schema_version = 0;
  std::uint64_t database_bytes = 0;
  std::uint64_t other_files = 0;
  std::uint64_t other_bytes = 0;
  std::uint64_t archive_bytes = 0;
  std::string skipped;  // what was left out and why, one line each ("" = nothing)
};

// Writes the backup atomically (a temporary file beside `file`, fsync, rename). Throws
// std::runtime_error with a message for the user.
BackupSummary create_backup(const BackupOptions& options);

struct RestoreOptions {
  std::filesystem::path file;
  std::filesystem::path data_dir;
  bool force = false;  // replace the content of a non-empty `data_dir`
};

struct RestoreSummary {
  std::string created;         // when the backup was taken (UTC, from its manifest)
  std::string zkpush_version;  // that wrote it
  int schema_version = 0;      // of its database
  int latest_schema_version = 0;  // this build's: the server migrates an older database at start
  std::uint64_t files = 0;     // files restored, the database included
  std::uint64_t bytes = 0;
  bool replaced = false;       // the folder had content, now replaced
};

// Refuses (std::runtime_error) a folder a server is running on, a non-empty folder without
// `force`, an archive that is not a zkpush backup, is damaged, holds an entry outside data/ or of
// another kind than file and folder, whose files do not match its manifest, or whose database is
// newer than this build. Everything is unpacked and checked in a staging folder inside `data_dir`
// before the folder's content is replaced; on any failure the folder is left as it was.
RestoreSummary restore_backup(const RestoreOptions& options);

}  // namespace zkpush::cli
