/* Rust's standard library on Windows draws its random bytes from ProcessPrng in
 * bcryptprimitives.dll, which Wine added in 9.0; Debian 12's Wine 8 lacks the DLL, so the
 * agent would not start. The Wine test builds this stand-in with MinGW and puts it in the Wine
 * prefix: it answers from RtlGenRandom, the same system generator. Test support only; it is
 * never shipped. */
#include <windows.h>

BOOLEAN WINAPI SystemFunction036(PVOID buffer, ULONG length);

__declspec(dllexport) BOOL WINAPI ProcessPrng(PBYTE data, SIZE_T length)
{
    while (length > 0) {
        ULONG chunk = length > 0x10000000 ? 0x10000000 : (ULONG)length;
        if (!SystemFunction036(data, chunk))
            return FALSE;
        data += chunk;
        length -= chunk;
    }
    return TRUE;
}
