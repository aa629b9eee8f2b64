using System.Runtime.InteropServices;

namespace LeanProxy.Cdp.Launch;

internal static partial class NativeMethods
{
    [LibraryImport("libc", EntryPoint = "mkfifo", StringMarshalling = StringMarshalling.Utf8, SetLastError = true)]
    public static partial int MkFifo(string path, uint mode);

    [LibraryImport("libc", EntryPoint = "geteuid")]
    public static partial uint GetEffectiveUserId();

    public static bool IsRoot => OperatingSystem.IsLinux() || OperatingSystem.IsMacOS() ? GetEffectiveUserId() == 0 : false;
}
