/** The numbers --stats and -v report (rsync.h struct stats), for one run. */
export interface TransferStats {
  totalRead: number;
  totalWritten: number;
  totalSize: number;
  totalTransferredSize: number;
  literalData: number;
  matchedData: number;
  flistBuildTime: number;
  flistXferTime: number;
  flistSize: number;
  numFiles: number;
  numDirs: number;
  numSymlinks: number;
  numDevices: number;
  numSpecials: number;
  createdFiles: number;
  createdDirs: number;
  createdSymlinks: number;
  createdDevices: number;
  createdSpecials: number;
  deletedFiles: number;
  deletedDirs: number;
  deletedSymlinks: number;
  deletedDevices: number;
  deletedSpecials: number;
  transferredFiles: number;
}

export function emptyStats(): TransferStats {
  return {
    totalRead: 0,
    totalWritten: 0,
    totalSize: 0,
    totalTransferredSize: 0,
    literalData: 0,
    matchedData: 0,
    flistBuildTime: 0,
    flistXferTime: 0,
    flistSize: 0,
    numFiles: 0,
    numDirs: 0,
    numSymlinks: 0,
    numDevices: 0,
    numSpecials: 0,
    createdFiles: 0,
    createdDirs: 0,
    createdSymlinks: 0,
    createdDevices: 0,
    createdSpecials: 0,
    deletedFiles: 0,
    deletedDirs: 0,
    deletedSymlinks: 0,
    deletedDevices: 0,
    deletedSpecials: 0,
    transferredFiles: 0,
  };
}
