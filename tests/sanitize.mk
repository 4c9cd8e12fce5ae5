# Compiler flags of the memory-safety builds (AddressSanitizer + UBSan), in
# one place for the extension (make SANITIZE=1) and the unit tests
# (tests/unit/test_core_asan); scripts/test.sh --asan runs both.
SANITIZE_CFLAGS = -fsanitize=address,undefined -fno-omit-frame-pointer -g -O1
SANITIZE_LDFLAGS = -fsanitize=address,undefined
