using System.Management.Automation;
using DbBackup.PowerShell.Loading;

namespace DbBackup.PowerShell;

/// <summary>Runs on Import-Module / Remove-Module: installs and removes the private load context hook.</summary>
public sealed class ModuleInitializer : IModuleAssemblyInitializer, IModuleAssemblyCleanup
{
    public void OnImport()
    {
        var moduleDirectory = Path.GetDirectoryName(typeof(ModuleInitializer).Assembly.Location)
            ?? throw new InvalidOperationException("The DbBackup module's folder cannot be determined.");
        ModuleLoader.Register(moduleDirectory);
    }

    public void OnRemove(PSModuleInfo psModuleInfo) => ModuleLoader.Unregister();
}
