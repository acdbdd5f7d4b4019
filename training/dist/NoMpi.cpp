//===- NoMpi.cpp - makeCommunicator of a build without MPI ---------------===//

#include "training/dist/Communicator.h"

#include <cstdlib>

namespace fsnn::train {

Status makeCommunicator(int &, char **&,
                        std::unique_ptr<Communicator> &communicator) {
  // What mpirun (Open MPI, MPICH) and srun tell each process they start.
  for (const char *size : {"OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "SLURM_NTASKS"})
    if (const char *value = std::getenv(size); value && std::atoi(value) > 1)
      return Status::error(
          std::string("started as one of ") + value + " processes (" + size +
          "), but this fsnn was built without MPI: install libopenmpi-dev "
          "and rebuild (scripts/build.sh) to train data-parallel");
  communicator = makeSingleProcess();
  return Status();
}

} // namespace fsnn::train
