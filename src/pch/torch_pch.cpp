// Carrier for the shared torch precompiled header (see CMakeLists.txt). Holds no code.
