using System.Text.Json;

namespace LeanProxy.Cdp.Protocol;

public sealed record AddBindingParams(string Name);

public sealed record RemoteObject(
    string Type,
    string? Subtype = null,
    string? ClassName = null,
    JsonElement? Value = null,
    string? UnserializableValue = null,
    string? Description = null);

public sealed record CallFrame(string FunctionName, string Url, int LineNumber, int ColumnNumber);

public sealed record StackTrace(CallFrame[] CallFrames, string? Description = null);

public sealed record ExceptionDetails(
    int ExceptionId,
    string Text,
    int LineNumber,
    int ColumnNumber,
    string? Url = null,
    StackTrace? StackTrace = null,
    RemoteObject? Exception = null);

public sealed record BindingCalledEvent(string Name, string Payload, int ExecutionContextId);

public sealed record ConsoleApiCalledEvent(string Type, RemoteObject[] Args, int ExecutionContextId, double Timestamp, StackTrace? StackTrace = null);

public sealed record ExceptionThrownEvent(double Timestamp, ExceptionDetails ExceptionDetails);

