// The isamap commands. Each takes the arguments after its name and returns the exit status:
// 0 success, 1 errors in the input, 2 wrong usage.
#pragma once

#include <string>
#include <vector>

namespace isamap::cli {

int kernelCommand(const std::vector<std::string>& args);
int parseCommand(const std::vector<std::string>& args);
int checkCommand(const std::vector<std::string>& args);
int runCommand(const std::vector<std::string>& args);
int targetsCommand(const std::vector<std::string>& args);
int targetCommand(const std::vector<std::string>& args);
int suiteCommand(const std::vector<std::string>& args);
int mapCommand(const std::vector<std::string>& args);
int tuneCommand(const std::vector<std::string>& args);
int scheduleCommand(const std::vector<std::string>& args);
int exportCommand(const std::vector<std::string>& args);
int measureCommand(const std::vector<std::string>& args);
int graphCommand(const std::vector<std::string>& args);
int workerCommand(const std::vector<std::string>& args);

} // namespace isamap::cli
