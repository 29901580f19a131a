using System.Reflection;
using System.Runtime.InteropServices;

namespace DbBackup.Module.Tests;

/// <summary>One parameter set entry of a cmdlet parameter ([Parameter(...)] attribute).</summary>
internal sealed record ParameterSetEntry(string SetName, bool Mandatory, int Position, bool ValueFromPipeline, bool ValueFromPipelineByPropertyName);

internal sealed record CmdletParameter(
    string Name, Type Type, IReadOnlyList<string> Aliases, IReadOnlyList<ParameterSetEntry> Sets, IReadOnlyList<string> AttributeNames)
{
    /// <summary>The type name as help shows it: Nullable unwrapped, e.g. Int32, String[], PSCredential.</summary>
    public string HelpTypeName => ModuleMetadata.Unwrap(Type).Name;
    public bool AcceptsPipeline => Sets.Any(s => s.ValueFromPipeline || s.ValueFromPipelineByPropertyName);
    public bool SupportsWildcards => AttributeNames.Contains("SupportsWildcardsAttribute");
}

internal sealed record CmdletMetadata(
    string Verb, string Noun, Type Type, bool SupportsShouldProcess, int ConfirmImpact, string? DefaultParameterSetName,
    IReadOnlyList<Type> OutputTypes, IReadOnlyList<CmdletParameter> Parameters)
{
    public string Name => $"{Verb}-{Noun}";
    public CmdletParameter Parameter(string name) => Parameters.Single(p => p.Name == name);
    public IReadOnlyList<string> ParameterSetNames => Parameters.SelectMany(p => p.Sets).Select(s => s.SetName)
        .Where(s => s != AllParameterSets).Distinct().OrderBy(s => s, StringComparer.Ordinal).ToArray();

    public const string AllParameterSets = "__AllParameterSets";
}

/// <summary>
/// The compiled module read with MetadataLoadContext (nothing executes; System.Management.Automation is only a
/// reference assembly here): cmdlets, their attributes, parameters, aliases and parameter sets.
/// </summary>
public sealed class ModuleMetadata : IDisposable
{
    private readonly MetadataLoadContext _context;

    public ModuleMetadata()
    {
        var module = ModuleLayout.RequireModule();
        var runtimeDirectory = RuntimeEnvironment.GetRuntimeDirectory();
        var paths = Directory.EnumerateFiles(runtimeDirectory, "*.dll")
            .Concat(Directory.EnumerateFiles(module, "*.dll"))
            .Concat(Directory.EnumerateFiles(ModuleLayout.DependencyDirectory, "*.dll"))
            .Append(ModuleLayout.SmaReferenceAssembly);
        _context = new MetadataLoadContext(new PathAssemblyResolver(paths));
        Module = _context.LoadFromAssemblyPath(Path.Combine(module, "DbBackup.dll"));
        Model = _context.LoadFromAssemblyPath(Path.Combine(module, "DbBackup.Model.dll"));
        Sma = _context.LoadFromAssemblyName("System.Management.Automation");
        Cmdlets = Module.GetTypes()
            .Where(t => t.GetCustomAttributesData().Any(a => a.AttributeType.FullName == "System.Management.Automation.CmdletAttribute"))
            .Select(ReadCmdlet)
            .OrderBy(c => c.Name, StringComparer.Ordinal)
            .ToArray();
    }

    public Assembly Module { get; }
    public Assembly Model { get; }
    public Assembly Sma { get; }
    internal IReadOnlyList<CmdletMetadata> Cmdlets { get; }

    internal CmdletMetadata Cmdlet(string name) => Cmdlets.Single(c => c.Name == name);

    /// <summary>PowerShell's approved verbs: the constants of the Verbs* classes in System.Management.Automation.</summary>
    public IReadOnlySet<string> ApprovedVerbs() => Sma.GetTypes()
        .Where(t => t.IsClass && t.Namespace == "System.Management.Automation" && t.Name.StartsWith("Verbs", StringComparison.Ordinal))
        .SelectMany(t => t.GetFields(BindingFlags.Public | BindingFlags.Static))
        .Where(f => f.IsLiteral)
        .Select(f => (string)f.GetRawConstantValue()!)
        .ToHashSet(StringComparer.Ordinal);

    private static CmdletMetadata ReadCmdlet(Type type)
    {
        var cmdlet = type.GetCustomAttributesData().Single(a => a.AttributeType.Name == "CmdletAttribute");
        var outputTypes = type.GetCustomAttributesData()
            .Where(a => a.AttributeType.Name == "OutputTypeAttribute")
            .SelectMany(a => a.ConstructorArguments)
            .SelectMany(arg => arg.Value is IEnumerable<CustomAttributeTypedArgument> items ? items.Select(i => i.Value) : [arg.Value])
            .OfType<Type>()
            .ToArray();
        var parameters = type.GetProperties(BindingFlags.Public | BindingFlags.Instance)
            .Select(ReadParameter)
            .OfType<CmdletParameter>()
            .ToArray();
        return new CmdletMetadata(
            (string)cmdlet.ConstructorArguments[0].Value!,
            (string)cmdlet.ConstructorArguments[1].Value!,
            type,
            Named<bool>(cmdlet, "SupportsShouldProcess"),
            Named<int>(cmdlet, "ConfirmImpact"),
            Named<string?>(cmdlet, "DefaultParameterSetName"),
            outputTypes,
            parameters);
    }

    private static CmdletParameter? ReadParameter(PropertyInfo property)
    {
        var attributes = property.GetCustomAttributesData();
        var sets = attributes.Where(a => a.AttributeType.Name == "ParameterAttribute")
            .Select(a => new ParameterSetEntry(
                Named<string?>(a, "ParameterSetName") ?? CmdletMetadata.AllParameterSets,
                Named<bool>(a, "Mandatory"),
                a.NamedArguments.Any(n => n.MemberName == "Position") ? Named<int>(a, "Position") : int.MinValue,
                Named<bool>(a, "ValueFromPipeline"),
                Named<bool>(a, "ValueFromPipelineByPropertyName")))
            .ToArray();
        if (sets.Length == 0)
        {
            return null;
        }
        var aliases = attributes.Where(a => a.AttributeType.Name == "AliasAttribute")
            .SelectMany(a => a.ConstructorArguments)
            .SelectMany(arg => arg.Value is IEnumerable<CustomAttributeTypedArgument> items ? items.Select(i => (string)i.Value!) : [(string)arg.Value!])
            .ToArray();
        return new CmdletParameter(property.Name, property.PropertyType, aliases, sets,
            attributes.Select(a => a.AttributeType.Name).ToArray());
    }

    private static T Named<T>(CustomAttributeData attribute, string name)
    {
        foreach (var argument in attribute.NamedArguments)
        {
            if (argument.MemberName == name)
            {
                return (T)argument.TypedValue.Value!;
            }
        }
        return default!;
    }

    /// <summary>Nullable.GetUnderlyingType for MetadataLoadContext types (which are not runtime types).</summary>
    internal static Type Unwrap(Type type) =>
        type.IsGenericType && type.GetGenericTypeDefinition().FullName == "System.Nullable`1" ? type.GetGenericArguments()[0] : type;

    public void Dispose() => _context.Dispose();
}
