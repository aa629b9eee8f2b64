using System.Text;

namespace LeanProxy.Tests.Shared;

/// <summary>Hand-made ustar headers, for archives TarWriter will not write (a declared size of 10 GB, a field TarReader cannot read).</summary>
internal static class TarHeaders
{
    /// <summary>A 512-byte header for <paramref name="name"/> of <paramref name="size"/> bytes and <paramref name="type"/>; <paramref name="edit"/> changes fields before the checksum is written.</summary>
    public static byte[] Header(string name, long size, byte type = (byte)'0', Action<byte[]>? edit = null)
    {
        var header = new byte[512];
        Encoding.ASCII.GetBytes(name).CopyTo(header, 0);
        Encoding.ASCII.GetBytes("0000644\0").CopyTo(header, 100);
        Encoding.ASCII.GetBytes("0000000\0").CopyTo(header, 108);
        Encoding.ASCII.GetBytes("0000000\0").CopyTo(header, 116);
        Encoding.ASCII.GetBytes(Convert.ToString(size, 8).PadLeft(11, '0') + "\0").CopyTo(header, 124);
        Encoding.ASCII.GetBytes("00000000000\0").CopyTo(header, 136);
        header[156] = type;
        Encoding.ASCII.GetBytes("ustar\0" + "00").CopyTo(header, 257);
        edit?.Invoke(header);
        header.AsSpan(148, 8).Fill((byte)' ');
        var sum = header.Sum(b => b);
        Encoding.ASCII.GetBytes(Convert.ToString(sum, 8).PadLeft(6, '0') + "\0 ").CopyTo(header, 148);
        return header;
    }
}
