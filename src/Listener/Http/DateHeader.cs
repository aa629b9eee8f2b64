using System.Text;

namespace LeanProxy.Listener.Http;

/// <summary>The "Date: …\r\n" line, rebuilt at most once a second and shared by every response.</summary>
internal static class DateHeader
{
    private static byte[] s_line = Build(DateTimeOffset.UtcNow);
    private static long s_second = DateTimeOffset.UtcNow.ToUnixTimeSeconds();

    public static ReadOnlySpan<byte> Line
    {
        get
        {
            var now = DateTimeOffset.UtcNow;
            var second = now.ToUnixTimeSeconds();
            if (second != Volatile.Read(ref s_second))
            {
                Volatile.Write(ref s_line, Build(now));
                Volatile.Write(ref s_second, second);
            }

            return Volatile.Read(ref s_line);
        }
    }

    private static byte[] Build(DateTimeOffset now) => Encoding.ASCII.GetBytes("Date: " + now.ToString("r") + "\r\n");
}
